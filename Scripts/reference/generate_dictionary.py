#!/usr/bin/env python3
"""Seeded generator of a MedDRA-sized synthetic Chinese ADR dictionary (CSV
layout: pt_code,pt_name,llt_name,hlt_name,hlgt_name,soc_name; one row per LLT),
for scale tests and benchmarks. NOT MedDRA; not for clinical use. Output is not
committed (write it under a git-ignored folder such as Benchmarks/out/).

PT names combine hand-written lists of modifiers, body sites and findings
(e.g. 急性左下肢肿胀) plus laboratory findings with Latin letters and digits
(e.g. ALT升高); aliases combine colloquial synonyms of the site and finding
(左腿肿了, 左下肢发肿…). Codes: 8 digits starting with 9. A few rows repeat an
alias or pad it with spaces, so loaders' de-duplication and trimming are
exercised at scale. Same arguments, same bytes.

Usage: generate_dictionary.py --out FILE [--pts 27000] [--llts 85000] [--seed 1]
"""
import argparse
import csv
import random
import sys

MODIFIERS = ["", "急性", "慢性", "复发性", "药物性", "迟发性", "间歇性", "持续性", "重度", "轻度",
             "一过性", "进行性", "反复性", "继发性", "局部", "广泛性", "严重", "多发性", "单发性", "阵发性",
             "过敏性", "中毒性"]
COLLOQUIAL_PREFIX = ["", "有点", "感觉", "出现", "突然", "老是", "一直"]

# (formal site, colloquial synonyms, region)
SITES = [
    ("头部", ["头", "脑袋", "头上"], "头颈"), ("面部", ["脸", "脸上", "面颊"], "头颈"),
    ("颈部", ["脖子", "颈"], "头颈"), ("眼睑", ["眼皮", "眼睛皮"], "头颈"),
    ("口唇", ["嘴唇", "嘴巴"], "头颈"), ("舌", ["舌头", "舌面"], "头颈"), ("咽部", ["嗓子", "喉咙"], "头颈"),
    ("耳部", ["耳朵", "耳根"], "头颈"), ("鼻部", ["鼻子", "鼻头"], "头颈"),
    ("胸部", ["胸口", "前胸"], "躯干"), ("背部", ["后背", "背上"], "躯干"), ("腰部", ["腰", "腰上"], "躯干"),
    ("腹部", ["肚子", "肚皮"], "躯干"), ("上腹部", ["胃口", "心窝"], "躯干"), ("下腹部", ["小肚子", "小腹"], "躯干"),
    ("臀部", ["屁股", "臀"], "躯干"), ("会阴部", ["下身", "会阴"], "躯干"),
    ("左上肢", ["左胳膊", "左手臂"], "上肢"), ("右上肢", ["右胳膊", "右手臂"], "上肢"),
    ("双上肢", ["两只胳膊", "双臂"], "上肢"), ("手部", ["手", "手上"], "上肢"), ("手指", ["指头", "手指头"], "上肢"),
    ("腕部", ["手腕", "手脖子"], "上肢"), ("肘部", ["胳膊肘", "手肘"], "上肢"), ("肩部", ["肩膀", "肩头"], "上肢"),
    ("左下肢", ["左腿", "左脚"], "下肢"), ("右下肢", ["右腿", "右脚"], "下肢"), ("双下肢", ["两条腿", "双腿"], "下肢"),
    ("足部", ["脚", "脚上"], "下肢"), ("足趾", ["脚趾", "脚指头"], "下肢"), ("踝部", ["脚踝", "脚脖子"], "下肢"),
    ("膝部", ["膝盖", "波棱盖"], "下肢"), ("大腿", ["大腿根", "腿上"], "下肢"), ("小腿", ["小腿肚", "腿肚子"], "下肢"),
    ("全身", ["浑身", "身上"], "全身"), ("四肢", ["手脚", "胳膊腿"], "全身"), ("皮肤", ["皮肤上", "皮"], "全身"),
    ("注射部位", ["针眼", "打针的地方"], "给药部位"), ("输液部位", ["输液的地方", "打点滴处"], "给药部位"),
    ("用药部位", ["涂药的地方", "贴药处"], "给药部位"),
]
# (formal finding, colloquial synonyms, HLGT, SOC)
FINDINGS = [
    ("疼痛", ["疼", "痛", "酸痛", "疼得厉害"], "疼痛类疾病", "全身性疾病及给药部位各种反应"),
    ("肿胀", ["肿", "肿了", "发肿", "肿起来"], "水肿状况", "全身性疾病及给药部位各种反应"),
    ("瘙痒", ["痒", "发痒", "痒得厉害", "刺痒"], "瘙痒类疾病", "皮肤及皮下组织类疾病"),
    ("麻木", ["发麻", "麻", "没知觉", "木木的"], "感觉异常类疾病", "神经系统疾病"),
    ("皮疹", ["起疹子", "出疹", "红疹", "起红点"], "皮疹类疾病", "皮肤及皮下组织类疾病"),
    ("出血", ["流血", "渗血", "出血不止", "冒血"], "出血类疾病", "血管与淋巴管类疾病"),
    ("红斑", ["发红", "红了", "红一片", "红斑块"], "红斑类疾病", "皮肤及皮下组织类疾病"),
    ("水疱", ["起水泡", "水泡", "起泡", "鼓包"], "大疱性疾病", "皮肤及皮下组织类疾病"),
    ("溃疡", ["烂了", "破溃", "溃烂", "长疮"], "溃疡类疾病", "皮肤及皮下组织类疾病"),
    ("感觉异常", ["针扎感", "蚁走感", "刺麻", "怪怪的"], "感觉异常类疾病", "神经系统疾病"),
    ("无力", ["没劲", "没力气", "软", "抬不起来"], "肌无力类疾病", "各种肌肉骨骼及结缔组织疾病"),
    ("僵硬", ["发僵", "发硬", "不灵活", "僵"], "肌肉骨骼僵硬", "各种肌肉骨骼及结缔组织疾病"),
    ("痉挛", ["抽筋", "抽搐", "抽", "绷紧"], "肌肉痉挛类疾病", "各种肌肉骨骼及结缔组织疾病"),
    ("震颤", ["发抖", "抖", "哆嗦", "颤"], "运动障碍", "神经系统疾病"),
    ("色素沉着", ["发黑", "变黑", "色斑", "颜色变深"], "色素沉着障碍", "皮肤及皮下组织类疾病"),
    ("脱屑", ["脱皮", "掉皮", "起皮", "蜕皮"], "表皮疾病", "皮肤及皮下组织类疾病"),
    ("硬结", ["硬块", "硬疙瘩", "结节", "发硬块"], "皮下组织疾病", "皮肤及皮下组织类疾病"),
    ("感染", ["发炎", "化脓", "感染了", "红肿流脓"], "感染类疾病", "感染及侵染类疾病"),
    ("静脉炎", ["血管疼", "血管发红", "血管发硬", "条索状红肿"], "静脉疾病", "血管与淋巴管类疾病"),
    ("灼热感", ["发烫", "烧灼感", "火辣辣", "发热感"], "感觉异常类疾病", "神经系统疾病"),
    ("冷感", ["发凉", "冰凉", "冷冰冰", "怕冷"], "感觉异常类疾病", "神经系统疾病"),
    ("多汗", ["出汗多", "冒汗", "汗多", "湿漉漉"], "出汗障碍", "皮肤及皮下组织类疾病"),
    ("干燥", ["发干", "干", "干裂", "干巴巴"], "表皮疾病", "皮肤及皮下组织类疾病"),
    ("淤斑", ["淤青", "青紫", "青一块", "紫斑"], "紫癜类疾病", "皮肤及皮下组织类疾病"),
    ("荨麻疹", ["风团", "起风疙瘩", "风疹块", "起大包"], "荨麻疹类疾病", "皮肤及皮下组织类疾病"),
    ("坏死", ["发黑坏死", "组织坏死", "烂肉", "坏掉"], "组织坏死", "全身性疾病及给药部位各种反应"),
    ("不适", ["不舒服", "难受", "别扭", "不得劲"], "不适类疾病", "全身性疾病及给药部位各种反应"),
    ("感觉减退", ["没感觉", "感觉迟钝", "知觉下降", "木"], "感觉异常类疾病", "神经系统疾病"),
    ("过敏反应", ["过敏", "过敏了", "过敏起疹", "过敏红肿"], "过敏性状态", "免疫系统疾病"),
    ("脱毛", ["掉毛", "毛发脱落", "掉头发", "秃了"], "皮肤附属器疾病", "皮肤及皮下组织类疾病"),
]
# (lab test, colloquial names, SOC)
LABS = [
    ("ALT", ["谷丙转氨酶", "谷丙", "转氨酶"]), ("AST", ["谷草转氨酶", "谷草"]), ("GGT", ["谷氨酰转肽酶", "γ-GT"]),
    ("ALP", ["碱性磷酸酶", "碱磷酶"]), ("TBIL", ["总胆红素", "胆红素"]), ("DBIL", ["直接胆红素", "结合胆红素"]),
    ("CK", ["肌酸激酶", "肌酶"]), ("CK-MB", ["肌酸激酶同工酶", "心肌酶"]), ("LDH", ["乳酸脱氢酶", "乳酸脱氢"]),
    ("Cr", ["肌酐", "血肌酐"]), ("BUN", ["尿素氮", "血尿素"]), ("UA", ["尿酸", "血尿酸"]),
    ("WBC", ["白细胞", "白血球"]), ("NEUT", ["中性粒细胞", "粒细胞"]), ("PLT", ["血小板", "血小板计数"]),
    ("Hb", ["血红蛋白", "血色素"]), ("RBC", ["红细胞", "红血球"]), ("INR", ["国际标准化比值", "凝血比值"]),
    ("APTT", ["部分凝血活酶时间", "凝血时间"]), ("TSH", ["促甲状腺激素", "促甲状腺素"]), ("FT4", ["游离T4", "游离甲状腺素"]),
    ("K", ["血钾", "钾"]), ("Na", ["血钠", "钠"]), ("Ca", ["血钙", "钙"]), ("Mg", ["血镁", "镁"]),
    ("GLU", ["血糖", "葡萄糖"]), ("HbA1c", ["糖化血红蛋白", "糖化"]), ("TG", ["甘油三酯", "三酰甘油"]),
    ("TC", ["总胆固醇", "胆固醇"]), ("CRP", ["C反应蛋白", "C-反应蛋白"]), ("PCT", ["降钙素原", "降钙素"]),
    ("AMY", ["淀粉酶", "血淀粉酶"]), ("LIP", ["脂肪酶", "血脂肪酶"]), ("IgE", ["免疫球蛋白E", "总IgE"]),
    ("QTc", ["QT间期", "QTc间期"]), ("BNP", ["脑钠肽", "B型利钠肽"]), ("D-D", ["D-二聚体", "D二聚体"]),
]
LAB_DIRECTIONS = [("升高", ["高", "偏高", "增高", "超标", "上升"]), ("降低", ["低", "偏低", "下降", "减少", "减低"]),
                  ("异常", ["不正常", "有问题", "异常波动", "不对", "紊乱"])]
LAB_MODIFIERS = ["", "轻度", "中度", "重度", "一过性", "持续性", "药物性", "进行性", "反复", "明显"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--pts", type=int, default=27000)
    ap.add_argument("--llts", type=int, default=85000, help="alias rows (LLTs other than the PT's own)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    concepts = []  # (pt_name, alias_pool, hlt, hlgt, soc)
    for (finding, fsyn, hlgt, soc) in FINDINGS:
        for (site, ssyn, region) in SITES:
            for mod in MODIFIERS:
                name = mod + site + finding
                pool = [pre + s + f for pre in COLLOQUIAL_PREFIX for s in ssyn + [site] for f in fsyn + [finding]
                        if pre + s + f != name]
                concepts.append((name, pool, f"{region}{finding}NEC", hlgt, soc))
    for (lab, lsyn) in LABS:
        for (direction, dsyn) in LAB_DIRECTIONS:
            for mod in LAB_MODIFIERS:
                name = mod + lab + direction
                pool = [a + d for a in lsyn + [lab, lab.lower()] for d in dsyn + [direction]] + \
                       [f"{lab} {d}" for d in dsyn] + [f"{lab}{n}" for n in ("2倍", "3倍", "5倍", " 120", " 3.5")]
                pool = [p for p in pool if p != name]
                concepts.append((name, pool, f"{lab}检查", "实验室检查" + direction, "各类检查"))
    if args.pts > len(concepts):
        sys.exit(f"at most {len(concepts)} PTs can be generated")
    rng.shuffle(concepts)
    concepts = concepts[:args.pts]
    base, extra = divmod(args.llts, args.pts)
    counts = [base] * args.pts
    for i in rng.sample(range(args.pts), extra):
        counts[i] += 1

    with open(args.out, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["pt_code", "pt_name", "llt_name", "hlt_name", "hlgt_name", "soc_name"])
        rows = 0
        for i, ((name, pool, hlt, hlgt, soc), n) in enumerate(zip(concepts, counts)):
            code = str(96000001 + i)
            aliases = rng.sample(pool, min(n, len(pool)))
            for a in aliases:
                if rng.random() < 0.01:
                    a = "  " + a + " "  # loaders trim
                w.writerow([code, name, a, hlt, hlgt, soc])
                rows += 1
                if rng.random() < 0.005:  # a repeated alias row: loaders keep one
                    w.writerow([code, name, a.strip(), hlt, hlgt, soc])
                    rows += 1
    print(f"{args.out}: {args.pts} PTs, {rows} rows", file=sys.stderr)


if __name__ == "__main__":
    main()
