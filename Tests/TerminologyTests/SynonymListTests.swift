import Foundation
import Terminology
import Testing

@Suite struct SynonymListTests {
    static let ascii = Result { try CandidateDictionary.load(path: Repository.path("Demo/dictionary/meddra_ascii")) }

    func load(_ text: String, bytes: [UInt8]? = nil, encoding: SourceEncoding = .utf8,
              folding: SynonymList.Folding = .none) throws -> (SynonymList?, SynonymListError?, String) {
        let folder = try TemporaryFolder()
        let path = try folder.write("synonyms.csv", bytes: bytes ?? Array(text.utf8))
        let dictionary = try Self.ascii.get()
        do throws(SynonymListError) {
            return (try SynonymList.load(path: path, encoding: encoding, folding: folding, dictionary: dictionary), nil, path)
        } catch {
            return (nil, error, path)
        }
    }

    @Test("a verbatim maps to its LLT and the LLT's PT; anything else misses")
    func hitAndMiss() throws {
        let (list, error, _) = try load("verbatim,llt_code\n头疼得厉害,95000001\n\n 头痛得要命 ,94000001\n头疼得厉害,95000001\n")
        #expect(error == nil)
        let l = try #require(list)
        #expect(l.count == 2)
        #expect(l.duplicateRows == 1)
        let hit = try #require(l.lookup(" 头疼得厉害 "))
        #expect(hit.llt == LowestLevelTerm(code: "95000001", name: "头疼", ptCode: "94000001"))
        #expect(try Self.ascii.get().terms[hit.candidateIndex].ptCode == "94000001")
        #expect(hit.line == 2)
        #expect(l.lookup("头痛得要命")?.llt.code == "94000001")
        #expect(l.lookup("头疼得厉害了") == nil)
        #expect(l.lookup("头疼") == nil)
        #expect(l.digest.count == 64)
    }

    @Test("width-case folding: full-width Latin and case fold; without it they do not")
    func folding() throws {
        let text = "verbatim,llt_code\nALT升高了,95000966\n"
        let folded = try #require(try load(text, folding: .widthCase).0)
        #expect(folded.lookup("ａｌｔ升高了")?.llt.code == "95000966")
        #expect(folded.lookup("alt升高了")?.llt.code == "95000966")
        let exact = try #require(try load(text).0)
        #expect(exact.lookup("alt升高了") == nil)
        #expect(exact.lookup("ALT升高了")?.llt.code == "95000966")
    }

    @Test("GB18030 files read with the encoding given")
    func gb() throws {
        let text = "verbatim,llt_code\n头疼得厉害,95000001\n"
        let l = try #require(try load(text, bytes: gb18030(text), encoding: .gb18030).0)
        #expect(l.lookup("头疼得厉害")?.llt.code == "95000001")
    }

    @Test("every load error names the file, the line and the problem")
    func errors() throws {
        func problem(_ text: String, bytes: [UInt8]? = nil, folding: SynonymList.Folding = .none) throws -> String {
            let (_, error, path) = try load(text, bytes: bytes, folding: folding)
            let e = try #require(error)
            #expect(e.description.hasPrefix(path))
            return e.description.replacingOccurrences(of: path, with: "F")
        }
        #expect(try problem("verbatim,llt_code\n头疼得厉害,95000001\n发晕,99999999\n")
                == "F:3: unknown LLT code 99999999: not an LLT of the dictionary")
        #expect(try problem("verbatim,llt_code\n头痛症状,95000005\n")
                == "F:2: LLT 95000005 (头痛症) is not current (llt_currency = N)")
        #expect(try problem("verbatim,llt_code\n头疼得厉害,95000001\n\n头疼得厉害,95000002\n")
                == "F:4: verbatim \"头疼得厉害\" is mapped to LLT 95000002 here and to LLT 95000001 on line 2")
        #expect(try problem("verbatim,llt_code\nALT高,95000966\nalt高,95000969\n", folding: .widthCase)
                == "F:3: verbatim \"alt高\" is mapped to LLT 95000969 here and to LLT 95000966 on line 2 (compared with folding width-case)")
        #expect(try problem("", bytes: Array("verbatim,llt_code\n头疼,95000001\n".utf8) + [0xC3, 0x28, 0x2C, 0x31, 0x0A])
                == "F:3: invalid UTF-8 text (for a GB18030 file pass --synonyms-encoding gb18030)")
        #expect(try problem("verbatim,llt_code\n头疼,95000001,x\n") == "F:2: expected 2 fields as in the header, found 3")
        #expect(try problem("verbatim,llt_code\n ,95000001\n") == "F:2: verbatim is empty")
        #expect(try problem("verbatim,llt_code\n头疼, \n") == "F:2: llt_code is empty")
        #expect(try problem("verbatim,code\n头疼,95000001\n")
                == "F:1: the header must name the columns verbatim and llt_code (found verbatim,code)")
        #expect(try problem("verbatim,llt_code\n\n") == "F: the list maps no verbatim")
        #expect(try problem("\n") == "F: the file is empty (expected a header verbatim,llt_code)")
    }

    @Test("a dictionary without LLT codes knows only PT codes, and says so")
    func uncodedDictionary() throws {
        let folder = try TemporaryFolder()
        let dictionary = try CandidateDictionary.load(path: try folder.write("d.csv", """
            pt_code,pt_name,llt_name,hlt_name,hlgt_name,soc_name
            94000001,头痛,头疼,头痛NEC,头痛,神经系统疾病

            """))
        let path = try folder.write("s.csv", "verbatim,llt_code\n头很痛,94000001\n头疼死了,95000001\n")
        #expect {
            try SynonymList.load(path: path, dictionary: dictionary)
        } throws: { error in
            (error as? SynonymListError)?.description == "\(path):3: unknown LLT code 95000001: not an LLT of the dictionary "
                + "(its CSV has no llt_code column, so only PT codes are known as LLT codes)"
        }
    }
}
