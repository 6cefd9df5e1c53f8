import Digest
import Foundation
import Terminology
import Testing

@Suite struct CandidateDictionaryCSVTests {
    static let header = "pt_code,pt_name,llt_name,hlt_name,hlgt_name,soc_name\n"

    func load(_ text: String) throws -> CandidateDictionary {
        let folder = try TemporaryFolder()
        return try CandidateDictionary.load(path: try folder.write("d.csv", text))
    }

    func loadError(_ bytes: [UInt8]) throws -> TerminologyError? {
        let folder = try TemporaryFolder()
        let path = try folder.write("d.csv", bytes: bytes)
        do {
            _ = try CandidateDictionary.load(path: path)
            return nil
        } catch {
            #expect(error.description.contains(path), "the message names the file: \(error)")
            return error
        }
    }

    func loadError(_ text: String) throws -> TerminologyError? { try loadError(Array(text.utf8)) }

    @Test("the demo dictionary: 382 PTs, 1,143 aliases, 26 SOCs, in file order")
    func demo() throws {
        let d = try CandidateDictionary.load(path: Repository.path("Demo/dictionary/demo_dictionary.csv"))
        #expect(d.format == .csv)
        #expect(d.counts == DictionaryCounts(pts: 382, llts: 1143, socs: 26))
        #expect(d.medDRAVersion == nil)
        #expect(d.terms[0] == PreferredTerm(ptCode: "94000001", ptName: "头痛", lltNames: ["头疼", "脑袋疼", "头胀痛", "头部疼痛"],
                                            hltName: "头痛NEC", hlgtName: "头痛", socName: "神经系统疾病"))
        #expect(d.terms.allSatisfy { $0.ptCode.hasPrefix("9") && $0.ptCode.count == 8 })
        let vomiting = try #require(d.index(ofPTCode: "94000029"))
        #expect(d.terms[vomiting].lltNames.contains("吐了,一天好几次"))
        #expect(d.report.warnings.isEmpty)
        #expect(d.digest.count == 64)
    }

    @Test("one candidate per PT in order of first appearance; aliases distinct, in order, trimmed, empty dropped; counted")
    func candidateModel() throws {
        let d = try load(Self.header + """
            2,恶心,想吐,H2,G2,S2
            1,头痛,头疼,H1,G1,S1
            2,恶心,  反胃\u{3000},H2,G2,S2
            1,头痛,,H1,G1,S1
            2,恶心,想吐,H2,G2,S2
            1,头痛,\u{00A0} ,H1,G1,S1

            3,皮疹,,H3,G3,S1

            """)
        #expect(d.terms.map(\.ptCode) == ["2", "1", "3"])
        #expect(d.terms[0].lltNames == ["想吐", "反胃"])
        #expect(d.terms[1].lltNames == ["头疼"])
        #expect(d.terms[2].lltNames == [])
        #expect(d.counts == DictionaryCounts(pts: 3, llts: 3, socs: 2))
        #expect(d.report.recordsRead == 7)
        #expect(d.report.emptyAliases == 3)
        #expect(d.report.duplicateAliases == 1)
        #expect(d.report.blankLines == 1)
        #expect(d.report.summary.contains("skipped duplicate aliases: 1"))
    }

    @Test("aliases are distinct by code point, as Python compares strings (not by canonical equivalence)")
    func codePointEquality() throws {
        let d = try load(Self.header + "1,皮疹,caf\u{E9},H,G,S\n1,皮疹,cafe\u{301},H,G,S\n")
        #expect(d.terms[0].lltNames.count == 2)
    }

    @Test("BOM, CRLF, RFC 4180 quoting (commas, doubled quotes, line breaks), any column order, extra columns")
    func rfc4180() throws {
        let text = "\u{FEFF}soc_name,pt_name,extra,pt_code,llt_name,hlgt_name,hlt_name\r\n"
            + "S,\"头痛\",x,1,\"头疼,脑袋疼\",G,H\r\n"
            + "S,头痛,\"a \"\"b\"\"\",1,\"说\"\"头疼\"\"\",G,H\r\n"
            + "S,头痛,,1,\"两行\r\n的别名\",G,H\r\n"
            + "S,头痛,,1,末行,G,H"
        let d = try load(text)
        #expect(d.terms.count == 1)
        #expect(d.terms[0].lltNames == ["头疼,脑袋疼", "说\"头疼\"", "两行\r\n的别名", "末行"])
        #expect(d.terms[0].hltName == "H" && d.terms[0].socName == "S")
    }

    @Test("conflicting hierarchy: the first row wins, one warning naming the PT, every conflicting row counted")
    func conflicts() throws {
        let d = try load(Self.header + """
            1,头痛,头疼,H1,G1,S1
            1,头痛,脑袋疼,H9,G1,S1
            1,头痛,偏头疼,H1,G1,S9
            2,恶心,想吐,H2,G2,S2

            """)
        #expect(d.terms[0].hltName == "H1" && d.terms[0].socName == "S1")
        #expect(d.terms[0].lltNames == ["头疼", "脑袋疼", "偏头疼"])
        #expect(d.report.conflictingRows == 2)
        #expect(d.report.warnings.count == 1)
        #expect(d.report.warnings[0].contains("PT 1 (头痛)") && d.report.warnings[0].contains(":3:"))
    }

    @Test("missing header columns are named")
    func missingColumns() throws {
        let e = try loadError("pt_code,pt_name,llt,hlt_name,soc_name\n1,a,b,c,d\n")
        #expect(e == .missingColumns(file: e.map(path) ?? "", line: 1, columns: ["llt_name", "hlgt_name"]))
    }

    @Test("a row without pt_code or pt_name names the line and the field")
    func missingFields() throws {
        var e = try loadError(Self.header + "1,头痛,头疼,H,G,S\n ,头痛,头疼,H,G,S\n")
        #expect(e == .missingField(file: e.map(path) ?? "", line: 3, field: "pt_code"))
        e = try loadError(Self.header + "1,头痛,头疼,H,G,S\n\n1,,头疼,H,G,S\n")
        #expect(e == .missingField(file: e.map(path) ?? "", line: 4, field: "pt_name"))
    }

    @Test("invalid UTF-8 names the line")
    func invalidUTF8() throws {
        var bytes = Array((Self.header + "1,头痛,头疼,H,G,S\n1,头痛,").utf8)
        bytes += [0xC3, 0x28] + Array(",H,G,S\n".utf8)
        let e = try loadError(bytes)
        #expect(e == .invalidEncoding(file: e.map(path) ?? "", line: 3, encoding: "UTF-8"))
        // Overlong encodings, surrogates and truncated sequences are invalid too.
        for bad: [UInt8] in [[0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xE5, 0xA4], [0xF4, 0x90, 0x80, 0x80], [0xFF]] {
            let e = try loadError(Array(Self.header.utf8) + bad)
            #expect(e == .invalidEncoding(file: e.map(path) ?? "", line: 2, encoding: "UTF-8"))
        }
    }

    @Test("malformed records: unterminated quote, text after a quote, wrong number of fields")
    func malformed() throws {
        var e = try loadError(Self.header + "1,头痛,\"头疼,H,G,S\n2,a,b,c,d,e\n")
        #expect(e == .malformedRow(file: e.map(path) ?? "", line: 2, problem: "a quoted field is never closed"))
        e = try loadError(Self.header + "1,头痛,\"头疼\"x,H,G,S\n")
        #expect(e == .malformedRow(file: e.map(path) ?? "", line: 2, problem: "text after the closing quote of a field"))
        e = try loadError(Self.header + "1,头痛,头疼,H,G,S\n1,头痛,头疼,H,G\n")
        #expect(e == .malformedRow(file: e.map(path) ?? "", line: 3, problem: "expected 6 fields as in the header, found 5"))
    }

    @Test("a file with no PT, and a path that does not exist")
    func emptyAndMissing() throws {
        var e = try loadError(Self.header)
        #expect(e == .empty(file: e.map(path) ?? ""))
        e = try loadError("")
        #expect(e == .empty(file: e.map(path) ?? ""))
        #expect(throws: TerminologyError.self) { try CandidateDictionary.load(path: "/nonexistent/adrnorm.csv") }
    }

    @Test("the digest is stable, and changes with any field")
    func digest() throws {
        let a = try load(Self.header + "1,头痛,头疼,H,G,S\n")
        let b = try load(Self.header + "1,头痛,头疼,H,G,S\n")
        let c = try load(Self.header + "1,头痛,头疼,H,G,S2\n")
        #expect(a.digest == b.digest)
        #expect(a.digest != c.digest)
        #expect(a.canonicalText == "[\"1\",\"头痛\",[\"头疼\"],\"H\",\"G\",\"S\"]\n")
        #expect(a.digest == SHA256.hex(of: a.canonicalText.utf8))
    }

    func path(_ e: TerminologyError) -> String {
        switch e {
        case let .missingColumns(file, _, _), let .missingField(file, _, _), let .invalidEncoding(file, _, _),
             let .malformedRow(file, _, _), let .empty(file), let .wrongFieldCount(file, _, _, _),
             let .invalidValue(file, _, _, _), let .noHierarchyPath(file, _, _):
            return file
        case let .unreadable(p, _): return p
        case let .missingFile(folder, _): return folder
        case .unsupportedEncoding: return ""
        }
    }
}
