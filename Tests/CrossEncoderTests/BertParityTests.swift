import Foundation
import Testing
import CrossEncoder

/// A pair of Fixtures/tiny-model/expected.json: transformers' ids, token
/// types, logits and probabilities (Scripts/encoder/tiny_model_fixture.py).
private struct TinyCase {
    var a: String, b: String
    var encoding: PairEncoding
    var logits: [Float], probabilities: [Float]
}

private func tinyCases(_ folder: String) throws -> (matchIndex: Int, maxLength: Int, cases: [TinyCase]) {
    let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/expected.json"))
    let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
    let cases = (object["cases"] as! [[String: Any]]).map { c in
        TinyCase(a: c["a"] as! String, b: c["b"] as! String,
                 encoding: PairEncoding(inputIDs: (c["input_ids"] as! [NSNumber]).map(\.int32Value),
                                        tokenTypeIDs: (c["token_type_ids"] as! [NSNumber]).map(\.int32Value)),
                 logits: (c["logits"] as! [NSNumber]).map(\.floatValue),
                 probabilities: (c["probabilities"] as! [NSNumber]).map(\.floatValue))
    }
    return ((object["match_index"] as! NSNumber).intValue, (object["max_length"] as! NSNumber).intValue, cases)
}

private func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

/// The committed tiny model: random weights with odd sizes (hidden 36 in 3
/// heads, feed-forward 71, 152 tokens), a vocabulary that leaves some
/// characters out ([UNK]) and some words to word pieces, and one pair
/// truncated at 64 tokens. The other layouts (F16, BF16, legacy names,
/// MiniLM, the demo model) are checked against transformers by
/// Tests/EncoderReferenceChecks, which Scripts/test runs on data it makes.
@Suite("BERT forward matches transformers (the committed tiny model)")
struct BertParityTests {
    static let folder = Fixtures.path("tiny-model")

    @Test("our ids equal transformers'; logits within 1e-4, prob_1 within 1e-5")
    func fp32() throws {
        let (matchIndex, maxLength, cases) = try tinyCases(Self.folder)
        let scorer = try PairScorer(modelDirectory: Self.folder, maxLength: maxLength)
        #expect(scorer.model.config.matchIndex == matchIndex)
        #expect(scorer.model.config.hiddenSize == 36 && scorer.model.config.intermediateSize == 71)
        #expect(cases.contains { $0.encoding.count == maxLength }, "one pair must be truncated")
        for c in cases { #expect(try scorer.tokenizer.encode(c.a, c.b, maxLength: maxLength) == c.encoding, "\(c.a)") }
        let scores = try scorer.score(cases.map { ($0.a, $0.b) }, batchSize: 4)
        #expect(scores.count == cases.count)
        for (c, s) in zip(cases, scores) {
            #expect(maxDifference(c.logits, s.logits) <= 1e-4, "\(c.a): logits \(s.logits) vs \(c.logits)")
            #expect(abs(c.probabilities[matchIndex] - s.matchProbability) <= 1e-5,
                    "\(c.a): prob_1 \(s.matchProbability) vs \(c.probabilities[matchIndex])")
        }
    }

    // A tiny random model is the hard case for int8: each dot product sums
    // few terms, so rounding averages out least. The bounds are those of the
    // other tiny models (about twice their measured worst).
    @Test("int8: logits within 0.15 and prob_1 within 0.03 of transformers' fp32")
    func int8() throws {
        let (matchIndex, maxLength, cases) = try tinyCases(Self.folder)
        let scorer = try PairScorer(modelDirectory: Self.folder, maxLength: maxLength,
                                    options: EncoderOptions(precision: .int8))
        let scores = try scorer.score(cases.map { ($0.a, $0.b) }, batchSize: 4)
        var worst: Float = 0
        for (c, s) in zip(cases, scores) {
            worst = max(worst, maxDifference(c.logits, s.logits))
            #expect(maxDifference(c.logits, s.logits) <= 0.15, "\(c.a): logits \(s.logits) vs \(c.logits)")
            #expect(abs(c.probabilities[matchIndex] - s.matchProbability) <= 0.03)
        }
        #expect(worst > 0, "int8 should not reproduce fp32 exactly")
    }

    @Test("a mixed-length batch equals one-by-one results within 1e-5", arguments: [Precision.fp32, .int8])
    func batchEqualsSingles(precision: Precision) throws {
        let model = try BertForSequenceClassification(modelDirectory: Self.folder,
                                                      options: EncoderOptions(precision: precision))
        let encodings = try tinyCases(Self.folder).cases.map(\.encoding)
        #expect(Set(encodings.map(\.count)).count > 3, "the batch must mix lengths")
        let together = try model.forward(PackedBatch(encodings))
        for (i, e) in encodings.enumerated() {
            let alone = try model.forward(PackedBatch([e]))[0]
            #expect(maxDifference(alone.logits, together[i].logits) <= 1e-5)
            #expect(maxDifference(alone.probabilities, together[i].probabilities) <= 1e-5)
        }
    }
}

@Suite("the committed demo model")
struct DemoModelTests {
    static let demoDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Demo/model").path

    @Test("Demo/model loads: 2 labels, match at index 1, 3 layers, hidden 384, within the 20 MB the demo allows")
    func loads() throws {
        let scorer = try PairScorer(modelDirectory: Self.demoDirectory)
        #expect(scorer.model.config.labels == ["not_match", "match"])
        #expect(scorer.model.config.matchIndex == 1)
        #expect(scorer.model.config.numHiddenLayers == 3)
        #expect(scorer.model.config.hiddenSize == 384)
        let size = try FileManager.default.attributesOfItem(atPath: Self.demoDirectory + "/model.safetensors")[.size] as? Int
        #expect((size ?? .max) <= 20_000_000)
    }
}
