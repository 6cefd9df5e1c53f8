import Testing
import Terminology

@Suite struct CandidateTemplateRenderTests {
    static let term = PreferredTerm(ptCode: "90000001", ptName: "头晕",
                                    lltNames: ["头昏", "发晕", "晕乎乎", "眩晕感", "头重脚轻", "脑袋晕", "晕", "昏沉", "头发沉"],
                                    hltName: "神经系统体征和症状NEC", hlgtName: "神经系统疾病NEC", socName: "各类神经系统疾病")

    @Test("full: every non-empty part joined by the full-width semicolon, at most 8 aliases")
    func full() {
        #expect(CandidateTemplate.full.render(Self.term) ==
                "PT: 头晕；LLT别名: 头昏 | 发晕 | 晕乎乎 | 眩晕感 | 头重脚轻 | 脑袋晕 | 晕 | 昏沉；HLT: 神经系统体征和症状NEC；HLGT: 神经系统疾病NEC；SOC: 各类神经系统疾病")
        let bare = PreferredTerm(ptCode: "1", ptName: "皮疹", socName: "皮肤及皮下组织类疾病")
        #expect(CandidateTemplate.full.render(bare) == "PT: 皮疹；SOC: 皮肤及皮下组织类疾病")
        #expect("；".unicodeScalars.first!.value == 0xFF1B)
    }

    @Test("pt_llt and pt_only")
    func short() {
        #expect(CandidateTemplate.ptLLT.render(Self.term) ==
                "PT: 头晕；LLT别名: 头昏 | 发晕 | 晕乎乎 | 眩晕感 | 头重脚轻 | 脑袋晕 | 晕 | 昏沉")
        #expect(CandidateTemplate.ptLLT.render(PreferredTerm(ptCode: "1", ptName: "皮疹", hltName: "x")) == "PT: 皮疹")
        #expect(CandidateTemplate.ptOnly.render(Self.term) == "PT: 头晕")
    }
}
