import Foundation
import Terminology
import Testing

@Suite struct LLTCodingTests {
    static let csv = Result { try CandidateDictionary.load(path: Repository.path("Demo/dictionary/demo_dictionary.csv")) }
    static let ascii = Result { try CandidateDictionary.load(path: Repository.path("Demo/dictionary/meddra_ascii")) }
    static let layouts: [String] = ["csv", "meddra_ascii"]

    func dictionary(_ layout: String) throws -> CandidateDictionary {
        try (layout == "csv" ? Self.csv : Self.ascii).get()
    }

    /// PT 头痛 (94000001) of the demo: current LLTs 头疼 95000001, 脑袋疼 95000002,
    /// 头胀痛 95000003, 头部疼痛 95000004, its own 头痛 94000001; 头痛症 95000005 is not current.
    func headache(_ d: CandidateDictionary) throws -> Int { try #require(d.index(ofPTCode: "94000001")) }

    @Test("every PT's current LLTs are known with their codes, its own LLT included, by code", arguments: layouts)
    func table(_ layout: String) throws {
        let d = try dictionary(layout)
        #expect(d.hasLLTCodes)
        #expect(d.llts[try headache(d)].map(\.code) == ["94000001", "95000001", "95000002", "95000003", "95000004"])
        #expect(d.llts[try headache(d)].map(\.name) == ["头痛", "头疼", "脑袋疼", "头胀痛", "头部疼痛"])
        for (i, term) in d.terms.enumerated() {
            #expect(d.llts[i].contains(LowestLevelTerm.own(term)))
            #expect(d.llts[i].count == term.lltNames.count + 1)
        }
        #expect(d.llt(code: "95000003")?.llt.name == "头胀痛")
        #expect(d.llt(code: "nope") == nil)
    }

    @Test("exact: a current LLT whose name equals the trimmed mention", arguments: layouts)
    func exact(_ layout: String) throws {
        let d = try dictionary(layout)
        let i = try headache(d)
        #expect(d.codingLLT(candidateIndex: i, mention: " 脑袋疼\u{3000}") == CodedLLT(code: "95000002", name: "脑袋疼", how: .exact))
        #expect(d.codingLLT(candidateIndex: i, mention: "头痛") == CodedLLT(code: "94000001", name: "头痛", how: .exact))
    }

    @Test("closest: the most similar current LLT; ties go to the lower LLT code", arguments: layouts)
    func closest(_ layout: String) throws {
        let d = try dictionary(layout)
        let i = try headache(d)
        // 脑袋胀痛: 脑袋疼 and 头胀痛 are both at distance 2 of 4 (similarity 0.5): the lower code wins.
        #expect(CandidateDictionary.lltSimilarity("脑袋胀痛", "脑袋疼") == 0.5)
        #expect(CandidateDictionary.lltSimilarity("脑袋胀痛", "头胀痛") == 0.5)
        #expect(d.codingLLT(candidateIndex: i, mention: "脑袋胀痛") == CodedLLT(code: "95000002", name: "脑袋疼", how: .closest))
        // One character off an alias.
        #expect(d.codingLLT(candidateIndex: i, mention: "头部疼") == CodedLLT(code: "95000004", name: "头部疼痛", how: .closest))
    }

    @Test("a non-current LLT is never chosen, not even for its own name", arguments: layouts)
    func nonCurrent(_ layout: String) throws {
        let d = try dictionary(layout)
        let coded = d.codingLLT(candidateIndex: try headache(d), mention: "头痛症")
        #expect(coded == CodedLLT(code: "94000001", name: "头痛", how: .closest))
        if layout == "meddra_ascii" {
            #expect(d.llt(code: "95000005")?.llt.isCurrent == false)
        }
    }

    @Test("pt_llt: nothing similar enough gives the PT's own LLT", arguments: layouts)
    func ptLLT(_ layout: String) throws {
        let d = try dictionary(layout)
        let i = try headache(d)
        #expect(CandidateDictionary.lltSimilarity("皮疹", "头痛") == 0)
        #expect(d.codingLLT(candidateIndex: i, mention: "皮疹") == CodedLLT(code: "94000001", name: "头痛", how: .ptLLT))
        // Similarity 1/3 to every LLT: below the 0.5 floor.
        #expect(d.codingLLT(candidateIndex: i, mention: "头晕眼花") == CodedLLT(code: "94000001", name: "头痛", how: .ptLLT))
    }

    @Test("the CSV and the MedDRA folder code every PT alike, for every LLT name and a few variants")
    func layoutsAgree() throws {
        let c = try Self.csv.get(), a = try Self.ascii.get()
        #expect(c.llts == a.llts)
        #expect(c.lltDigest == a.lltDigest)
        #expect(c.digest == a.digest)
        var checked = 0
        for i in c.terms.indices {
            for mention in c.llts[i].flatMap({ [$0.name, $0.name + "了", String($0.name.dropFirst()), "皮疹"] }) {
                #expect(c.codingLLT(candidateIndex: i, mention: mention) == a.codingLLT(candidateIndex: i, mention: mention))
                checked += 1
            }
        }
        #expect(checked > 4 * 1500)
    }

    @Test("a CSV without llt_code still loads: aliases have no code, each PT's own LLT has the PT code")
    func csvWithoutCodes() throws {
        let folder = try TemporaryFolder()
        let path = try folder.write("d.csv", """
            pt_code,pt_name,llt_name,hlt_name,hlgt_name,soc_name
            94000001,头痛,头疼,头痛NEC,头痛,神经系统疾病
            94000001,头痛,脑袋疼,头痛NEC,头痛,神经系统疾病

            """)
        let d = try CandidateDictionary.load(path: path)
        #expect(!d.hasLLTCodes)
        #expect(d.llts[0] == [LowestLevelTerm(code: "", name: "头疼", ptCode: "94000001"),
                              LowestLevelTerm(code: "", name: "脑袋疼", ptCode: "94000001"),
                              LowestLevelTerm(code: "94000001", name: "头痛", ptCode: "94000001")])
        #expect(d.codingLLT(candidateIndex: 0, mention: "脑袋疼") == CodedLLT(code: "", name: "脑袋疼", how: .exact))
        #expect(d.codingLLT(candidateIndex: 0, mention: "皮疹") == CodedLLT(code: "94000001", name: "头痛", how: .ptLLT))
        #expect(d.llt(code: "94000001")?.candidateIndex == 0)
    }

    @Test("a CSV llt_code column must be set on every row and unique")
    func csvCodeErrors() throws {
        let folder = try TemporaryFolder()
        let header = "pt_code,pt_name,llt_code,llt_name,hlt_name,hlgt_name,soc_name\n"
        let missing = try folder.write("m.csv", header + "94000001,头痛,95000001,头疼,h,g,s\n94000001,头痛,,脑袋疼,h,g,s\n")
        #expect(throws: TerminologyError.missingField(file: missing, line: 3, field: "llt_code")) {
            try CandidateDictionary.load(path: missing)
        }
        let twice = try folder.write("t.csv", header + "94000001,头痛,95000001,头疼,h,g,s\n94000002,恶心,95000001,想吐,h,g,s\n")
        #expect(throws: TerminologyError.invalidValue(file: twice, line: 3, field: "llt_code",
                                                      problem: "LLT 95000001 is listed twice (first on line 2)")) {
            try CandidateDictionary.load(path: twice)
        }
    }

    @Test("a MedDRA llt.asc listing an LLT code twice is refused with both lines")
    func asciiDuplicateCode() throws {
        let folder = try MedDRAFixture.make(["llt.asc": MedDRAFixture.files["llt.asc"]! + "95000009$呕$94000002$$$$$$$Y$$\n"])
        #expect {
            try CandidateDictionary.load(path: folder.path)
        } throws: { error in
            guard case .invalidValue(_, _, "llt_code", let problem)? = error as? TerminologyError else { return false }
            return problem.contains("is listed twice (first on line 1)")
        }
    }

    @Test("a version can be given to a dictionary without one")
    func version() throws {
        let d = try Self.csv.get()
        #expect(d.medDRAVersion == nil)
        #expect(d.withMedDRAVersion("27.0").medDRAVersion == "27.0")
        #expect(try Self.ascii.get().medDRAVersion == "Demo 1.0")
    }
}
