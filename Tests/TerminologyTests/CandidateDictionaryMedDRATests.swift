import Foundation
import Terminology
import Testing

@Suite struct CandidateDictionaryMedDRATests {
    func loadError(_ folder: TemporaryFolder, encoding: SourceEncoding = .utf8) -> TerminologyError? {
        do {
            _ = try CandidateDictionary.load(path: folder.path, encoding: encoding)
            return nil
        } catch {
            return error
        }
    }

    @Test("the demo folder loads to the same candidates as the demo CSV (SOC codes aside)")
    func demoLayoutsAgree() throws {
        let ascii = try CandidateDictionary.load(path: Repository.path("Demo/dictionary/meddra_ascii"))
        let csv = try CandidateDictionary.load(path: Repository.path("Demo/dictionary/demo_dictionary.csv"))
        #expect(ascii.format == .medDRAASCII)
        #expect(ascii.terms.count == csv.terms.count)
        var withoutSOCCodes = ascii.terms
        for i in withoutSOCCodes.indices {
            #expect(withoutSOCCodes[i].socCode.hasPrefix("91"))
            withoutSOCCodes[i].socCode = ""
        }
        #expect(withoutSOCCodes == csv.terms)
        #expect(ascii.digest == csv.digest)
        #expect(ascii.counts == csv.counts)
        #expect(ascii.medDRAVersion == "Demo 1.0")
        #expect(ascii.report.nonCurrentLLTs == 1)
        #expect(ascii.report.ptNamedLLTs == 382)
        #expect(ascii.report.secondaryPaths > 10)
        #expect(ascii.report.recordsRead == 1526)
    }

    @Test("primary path by flag, current LLTs only, the PT-named LLT left out, aliases ordered by LLT code")
    func rules() throws {
        let folder = try MedDRAFixture.make()
        let d = try CandidateDictionary.load(path: folder.path)
        #expect(d.terms == [
            PreferredTerm(ptCode: "94000002", ptName: "恶心", lltNames: ["反胃", "想吐"], hltName: "恶心和呕吐症状",
                          hlgtName: "胃肠道症状", socName: "胃肠系统疾病", socCode: "91000002"),
            PreferredTerm(ptCode: "94000001", ptName: "头痛", lltNames: ["头疼", "脑袋疼"], hltName: "头痛NEC",
                          hlgtName: "头痛", socName: "神经系统疾病", socCode: "91000001"),
        ])
        #expect(d.medDRAVersion == "26.1")
        #expect(d.report.nonCurrentLLTs == 1)
        #expect(d.report.ptNamedLLTs == 2)
        #expect(d.report.secondaryPaths == 1)
        #expect(d.report.blankLines == 1)
        #expect(d.counts == DictionaryCounts(pts: 2, llts: 4, socs: 2))
    }

    @Test("without a release file the version is unknown; LF line ends and no trailing $ are accepted")
    func optionalRelease() throws {
        let folder = try MedDRAFixture.make(["meddra_release.asc": nil,
                                             "soc.asc": "91000001$神经系统疾病$Nerv$$$$$$$\n91000002$胃肠系统疾病$Gastr$$$$$$$\n"])
        let d = try CandidateDictionary.load(path: folder.path)
        #expect(d.medDRAVersion == nil)
        #expect(d.terms[1].socName == "神经系统疾病")
    }

    @Test("each missing required file is named", arguments: CandidateDictionary.medDRARequiredFiles)
    func missingFile(name: String) throws {
        let folder = try MedDRAFixture.make([name: nil])
        #expect(loadError(folder) == .missingFile(folder: folder.path, name: name))
    }

    @Test("a record with the wrong number of $ fields names file and line")
    func wrongFieldCount() throws {
        let folder = try MedDRAFixture.make(["llt.asc": "95000001$头疼$94000001$$$$$$$Y$$\r\n95000002$脑袋疼$94000001$Y$\r\n"])
        #expect(loadError(folder) == .wrongFieldCount(file: folder.path + "/llt.asc", line: 2, expected: 11, found: 4))
    }

    @Test("a PT without a primary path is an error naming the PT")
    func noPrimaryPath() throws {
        let folder = try MedDRAFixture.make(["mdhier.asc":
            "94000002$93000002$92000002$91000002$恶心$x$x$x$Gastr$$91000002$Y$\r\n"
            + "94000001$93000001$92000001$91000001$头痛$x$x$x$Nerv$$91000001$N$\r\n"])
        #expect(loadError(folder) == .noHierarchyPath(file: folder.path + "/pt.asc", line: 2, ptCode: "94000001"))
    }

    @Test("invalid flags and unknown codes name the file, line and field")
    func invalidValues() throws {
        var folder = try MedDRAFixture.make(["llt.asc": "95000001$头疼$94000001$$$$$$$X$$\r\n"])
        #expect(loadError(folder) == .invalidValue(file: folder.path + "/llt.asc", line: 1, field: "llt_currency",
                                                   problem: "expected Y or N, found \"X\""))
        folder = try MedDRAFixture.make(["llt.asc": "95000001$头疼$94009999$$$$$$$Y$$\r\n"])
        #expect(loadError(folder) == .invalidValue(file: folder.path + "/llt.asc", line: 1, field: "pt_code",
                                                   problem: "PT 94009999 is not in pt.asc"))
        folder = try MedDRAFixture.make(["mdhier.asc": "94000001$93000001$92000001$91000001$a$b$c$d$e$$f$y$\r\n"])
        #expect(loadError(folder) == .invalidValue(file: folder.path + "/mdhier.asc", line: 1, field: "primary_soc_fg",
                                                   problem: "expected Y or N, found \"y\""))
        folder = try MedDRAFixture.make(["mdhier.asc": "94000001$93000009$92000001$91000001$a$b$c$d$e$$f$Y$\r\n"])
        #expect(loadError(folder) == .invalidValue(file: folder.path + "/mdhier.asc", line: 1, field: "hlt_code",
                                                   problem: "93000009 is not in hlt.asc"))
        folder = try MedDRAFixture.make(["hlt.asc": "93000001$头痛NEC$$$$$$$$\r\n93000001$恶心和呕吐症状$$$$$$$$\r\n"])
        #expect(loadError(folder) == .invalidValue(file: folder.path + "/hlt.asc", line: 2, field: "hlt_code",
                                                   problem: "93000001 is listed twice (first on line 1)"))
        folder = try MedDRAFixture.make(["pt.asc": "94000001$头痛$$91000001$$$$$$$$\r\n94000001$头痛$$91000001$$$$$$$$\r\n"])
        #expect(loadError(folder) == .invalidValue(file: folder.path + "/pt.asc", line: 2, field: "pt_code",
                                                   problem: "PT 94000001 is listed twice (first on line 1)"))
    }

    @Test("GB18030 on request: the same candidates as UTF-8; UTF-8 refuses GB18030 bytes with a hint; bad GB18030 names the line")
    func gb18030Folder() throws {
        let utf8 = try MedDRAFixture.make()
        let expected = try CandidateDictionary.load(path: utf8.path)
        let folder = try TemporaryFolder()
        for (name, text) in MedDRAFixture.files { try folder.write(name, bytes: gb18030(text)) }
        let d = try CandidateDictionary.load(path: folder.path, encoding: .gb18030)
        #expect(d.terms == expected.terms)
        let e = loadError(folder)
        #expect(e?.description.contains("--encoding gb18030") == true)
        if case .invalidEncoding(_, _, "UTF-8")? = e {} else { Issue.record("expected invalid UTF-8, got \(String(describing: e))") }
        // 0x81 0x20 is not a GB18030 sequence.
        try folder.write("pt.asc", bytes: gb18030("94000002$恶心$$91000002$$$$$$$$\r\n") + [0x81, 0x20] + Array("$$\r\n".utf8))
        #expect(loadError(folder, encoding: .gb18030) == .invalidEncoding(file: folder.path + "/pt.asc", line: 2, encoding: "GB18030"))
    }

    @Test("encoding names")
    func encodingNames() throws {
        #expect(try SourceEncoding(name: "UTF-8") == .utf8)
        #expect(try SourceEncoding(name: "gb18030") == .gb18030)
        #expect(throws: TerminologyError.unsupportedEncoding("latin1")) { try SourceEncoding(name: "latin1") }
    }
}
