#!/usr/bin/env python3
"""Writes the synthetic demo dictionary (Demo/dictionary/) from the hand-written
term list Demo/dictionary/source/demo_terms.txt, in both layouts:

  demo_dictionary.csv   pt_code,pt_name,llt_code,llt_name,hlt_name,hlgt_name,soc_name
                        (one row per current alias LLT, primary-SOC path)
  meddra_ascii/*.asc    MedDRA ASCII layout, `$`-separated, CRLF, UTF-8

Codes are synthetic 8-digit numbers starting with 9, assigned in file order
(SOC 91…, HLGT 92…, HLT 93…, PT 94…, alias LLT 95…); each PT also has its own
LLT with the PT's code and name, as MedDRA does. Deterministic: the same input
gives byte-identical output. NOT MedDRA; not for clinical use.

Usage: make_demo_dictionary.py [--source FILE] [--out DIR]
"""
import argparse
import csv
import io
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def parse(path):
    socs, hlgts, hlts, pts = [], [], [], []
    soc = hlgt = hlt = None
    for number, raw in enumerate(open(path, encoding="utf-8"), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        kind, _, rest = line.partition(" ")
        rest = rest.strip()
        where = f"{path}:{number}"
        if kind == "SOC":
            name, _, abbrev = rest.partition("|")
            soc = {"code": str(91000001 + len(socs)), "name": name.strip(), "abbrev": abbrev.strip()}
            socs.append(soc)
        elif kind == "HLGT":
            hlgt = {"code": str(92000001 + len(hlgts)), "name": rest, "soc": soc}
            hlgts.append(hlgt)
        elif kind == "HLT":
            hlt = {"code": str(93000001 + len(hlts)), "name": rest, "hlgt": hlgt}
            hlts.append(hlt)
        elif kind == "PT":
            body, _, secondary = rest.partition("@")
            name, _, alias_text = body.partition("=")
            name = name.strip()
            aliases = [a.strip() for a in alias_text.split(" / ") if a.strip()]
            for a in aliases:
                if a.lstrip("~") == name:
                    sys.exit(f"{where}: alias equals its PT name")
            if len(set(a.lstrip("~") for a in aliases)) != len(aliases):
                sys.exit(f"{where}: duplicate alias")
            pts.append({"code": str(94000001 + len(pts)), "name": name, "aliases": aliases,
                        "hlt": hlt, "secondary": secondary.strip(), "where": where})
        else:
            sys.exit(f"{where}: unknown line kind {kind!r}")
    hlt_by_name = {}
    for h in hlts:
        if h["name"] in hlt_by_name:
            sys.exit(f"duplicate HLT name {h['name']}")
        hlt_by_name[h["name"]] = h
    for p in pts:
        if p["secondary"]:
            if p["secondary"] not in hlt_by_name:
                sys.exit(f"{p['where']}: unknown secondary HLT {p['secondary']}")
            p["secondary"] = hlt_by_name[p["secondary"]]
    names = [p["name"] for p in pts]
    if len(set(names)) != len(names):
        sys.exit("duplicate PT name")
    return socs, hlgts, hlts, pts


def write_asc(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        for fields in rows:
            f.write("$".join(fields) + "$\r\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", default=os.path.join(ROOT, "Demo/dictionary/source/demo_terms.txt"))
    ap.add_argument("--out", default=os.path.join(ROOT, "Demo/dictionary"))
    args = ap.parse_args()
    socs, hlgts, hlts, pts = parse(args.source)

    # Alias LLT codes in source order, so "ordered by LLT code" (ASCII) and
    # "source order" (CSV) agree.
    llts = []  # (code, name, pt_code, current)
    next_llt = 95000001
    for p in pts:
        llts.append((p["code"], p["name"], p["code"], True))
        p["alias_codes"] = []
        for a in p["aliases"]:
            current = not a.startswith("~")
            llts.append((str(next_llt), a.lstrip("~"), p["code"], current))
            p["alias_codes"].append(str(next_llt))
            next_llt += 1

    # CSV: one row per current alias LLT.
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["pt_code", "pt_name", "llt_code", "llt_name", "hlt_name", "hlgt_name", "soc_name"])
    for p in pts:
        h = p["hlt"]
        for a, code in zip(p["aliases"], p["alias_codes"]):
            if a.startswith("~"):
                continue
            w.writerow([p["code"], p["name"], code, a, h["name"], h["hlgt"]["name"], h["hlgt"]["soc"]["name"]])
    with open(os.path.join(args.out, "demo_dictionary.csv"), "w", encoding="utf-8", newline="") as f:
        f.write(buf.getvalue())

    d = os.path.join(args.out, "meddra_ascii")
    os.makedirs(d, exist_ok=True)
    write_asc(os.path.join(d, "meddra_release.asc"), [["Demo 1.0", "Chinese", "", "", ""]])
    write_asc(os.path.join(d, "soc.asc"),
              [[s["code"], s["name"], s["abbrev"], "", "", "", "", "", "", ""] for s in socs])
    write_asc(os.path.join(d, "hlgt.asc"), [[g["code"], g["name"]] + [""] * 7 for g in hlgts])
    write_asc(os.path.join(d, "hlt.asc"), [[h["code"], h["name"]] + [""] * 7 for h in hlts])
    write_asc(os.path.join(d, "pt.asc"),
              [[p["code"], p["name"], "", p["hlt"]["hlgt"]["soc"]["code"]] + [""] * 7 for p in pts])
    # llt.asc in a seeded shuffled order: loaders must order aliases by code.
    shuffled = list(llts)
    random.Random(20261126).shuffle(shuffled)
    write_asc(os.path.join(d, "llt.asc"),
              [[c, n, pc, "", "", "", "", "", "", "Y" if cur else "N", ""] for c, n, pc, cur in shuffled])
    write_asc(os.path.join(d, "soc_hlgt.asc"), [[g["soc"]["code"], g["code"]] for g in hlgts])
    write_asc(os.path.join(d, "hlgt_hlt.asc"), [[h["hlgt"]["code"], h["code"]] for h in hlts])
    hlt_pt, hier = [], []
    for i, p in enumerate(pts):
        paths = [(p["hlt"], "Y")]
        if p["secondary"]:
            # Every other secondary path comes first: the primary flag, not
            # the row order, picks the path.
            sec = (p["secondary"], "N")
            paths = [sec] + paths if i % 2 else paths + [sec]
        primary_soc = p["hlt"]["hlgt"]["soc"]["code"]
        for h, flag in paths:
            g, s = h["hlgt"], h["hlgt"]["soc"]
            hlt_pt.append([h["code"], p["code"]])
            hier.append([p["code"], h["code"], g["code"], s["code"], p["name"], h["name"], g["name"],
                         s["name"], s["abbrev"], "", primary_soc, flag])
    write_asc(os.path.join(d, "hlt_pt.asc"), hlt_pt)
    write_asc(os.path.join(d, "mdhier.asc"), hier)

    current = sum(1 for l in llts if l[3])
    aliases = sum(1 for p in pts for a in p["aliases"] if not a.startswith("~"))
    print(f"{len(socs)} SOCs, {len(hlgts)} HLGTs, {len(hlts)} HLTs, {len(pts)} PTs, "
          f"{len(llts)} LLTs ({current} current; {aliases} current aliases)", file=sys.stderr)


if __name__ == "__main__":
    main()
