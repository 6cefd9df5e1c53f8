import Foundation
import Testing
import CrossEncoder

private let demoDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Demo/model").path

/// Mention/candidate pairs of mixed lengths, in the demo model's vocabulary.
private let pairs: [(mention: String, candidate: String)] = {
    let mentions = ["头晕", "吃完药后一直犯困头晕", "皮疹", "恶心想吐，胃口不好", "打针的地方肿了", "心慌", "失眠多梦，白天没精神",
                    "腹泻三天", "眼睛发干加重", "全身瘙痒起红疹子，停药后好转"]
    let candidates = ["PT: 头晕；LLT别名: 眩晕 | 头昏；HLT: 神经系统症状；SOC: 各类神经系统疾病", "PT: 皮疹",
                      "PT: 恶心；LLT别名: 想吐 | 反胃；SOC: 胃肠系统疾病", "PT: 注射部位肿胀；SOC: 全身性疾病及给药部位各种反应",
                      "PT: 失眠"]
    var out: [(String, String)] = []
    for (i, m) in mentions.enumerated() {
        for j in 0..<3 { out.append((m, candidates[(i + j) % candidates.count])) }
    }
    return out
}()

private func maxDifference(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? 0 }

@Suite("the forward pass split across threads")
struct ParallelForwardTests {
    static func scores(threads: Int, precision: Precision = .fp32, batchSize: Int = 64) throws -> [PairScore] {
        let scorer = try PairScorer(modelDirectory: demoDirectory,
                                    options: EncoderOptions(precision: precision, threads: threads))
        return try scorer.score(pairs, batchSize: batchSize)
    }

    @Test("1, 2 and 3 threads give the same logits (within 1e-5), fp32 and int8",
          arguments: [Precision.fp32, .int8])
    func threadCounts(precision: Precision) throws {
        let one = try Self.scores(threads: 1, precision: precision)
        for threads in [2, 3] {
            let many = try Self.scores(threads: threads, precision: precision)
            for (a, b) in zip(one, many) { #expect(maxDifference(a.logits, b.logits) <= 1e-5, "\(threads) threads") }
        }
    }

    @Test("a single pair on 2 threads (GEMMs split by columns) equals 1 thread", arguments: [Precision.fp32, .int8])
    func singlePairColumnSplit(precision: Precision) throws {
        let one = try Self.scores(threads: 1, precision: precision, batchSize: 1)
        let two = try Self.scores(threads: 2, precision: precision, batchSize: 1)
        for (a, b) in zip(one, two) { #expect(maxDifference(a.logits, b.logits) <= 1e-5) }
    }

    @Test("int8: a mixed-length batch equals one-by-one (within 1e-5)")
    func int8BatchEqualsSingles() throws {
        let together = try Self.scores(threads: 2, precision: .int8, batchSize: 64)
        let alone = try Self.scores(threads: 2, precision: .int8, batchSize: 1)
        for (a, b) in zip(together, alone) {
            #expect(maxDifference(a.logits, b.logits) <= 1e-5)
            #expect(abs(a.matchProbability - b.matchProbability) <= 1e-5)
        }
    }

    // The limits sit above what Scripts/check-int8-accuracy measures on the
    // demo set (max |Δprob_1| 0.035 for adrnorm int8, no decision flipped).
    @Test("int8 stays near fp32 on the demo model: prob_1 within 0.08, logits within 0.3")
    func int8NearFP32() throws {
        let fp32 = try Self.scores(threads: 2)
        let int8 = try Self.scores(threads: 2, precision: .int8)
        var worstProbability: Float = 0, worstLogit: Float = 0
        for (a, b) in zip(fp32, int8) {
            worstProbability = max(worstProbability, abs(a.matchProbability - b.matchProbability))
            worstLogit = max(worstLogit, maxDifference(a.logits, b.logits))
        }
        print("int8 vs fp32 on the demo pairs: max |Δprob_1| \(worstProbability), max |Δlogit| \(worstLogit)")
        #expect(worstProbability <= 0.08, "prob_1 \(worstProbability), logits \(worstLogit)")
        #expect(worstLogit <= 0.3, "prob_1 \(worstProbability), logits \(worstLogit)")
        // And it is not secretly fp32: quantization moves something.
        #expect(worstLogit > 0)
    }

    @Test("int8 holds the quantized layers in about a quarter of their fp32 bytes")
    func int8Memory() throws {
        let fp32 = try BertForSequenceClassification(modelDirectory: demoDirectory, options: EncoderOptions(precision: .fp32))
        let int8 = try BertForSequenceClassification(modelDirectory: demoDirectory, options: EncoderOptions(precision: .int8))
        #expect(int8.options.precision == .int8)
        #expect(int8.bert.weightBytes < fp32.bert.weightBytes)
    }

    @Test("partition: contiguous, non-empty, covering, balanced by tokens")
    func partition() {
        func batch(_ lengths: [Int]) -> PackedBatch {
            PackedBatch(lengths.map { PairEncoding(inputIDs: [Int32](repeating: 5, count: $0), tokenTypeIDs: [Int32](repeating: 0, count: $0)) })
        }
        let fixed = BertModel.partition(batch([Int](repeating: 64, count: 100)), parts: 2, hiddenSize: 768)
        #expect(fixed == [0..<50, 50..<100])
        for lengths in [[8, 64, 64, 8, 8, 8, 8, 8, 8], [1, 1, 1], [64, 1], (0..<37).map { 8 + ($0 * 37) % 57 }] {
            for parts in 1...lengths.count {
                let groups = BertModel.partition(batch(lengths), parts: parts, hiddenSize: 768)
                #expect(groups.count == parts)
                #expect(groups.first?.lowerBound == 0 && groups.last?.upperBound == lengths.count)
                #expect(zip(groups, groups.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
                #expect(groups.allSatisfy { !$0.isEmpty })
                // No part exceeds an equal share by more than its longest sequence.
                let total = lengths.reduce(0, +), longest = lengths.max()!
                for g in groups { #expect(lengths[g].reduce(0, +) <= total / parts + 2 * longest) }
            }
        }
    }
}
