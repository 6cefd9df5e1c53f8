import Foundation
import Testing

@Suite struct EvaluateCommandTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("NormalizationTests/Fixtures/evaluate")

    @Test("adrnorm evaluate prints the reference metrics with the keys of docs/PIPELINE.md §Metrics")
    func evaluate() throws {
        let input = Self.fixtures.appendingPathComponent("random_300_mentions.jsonl").path
        let result = try AdrnormExecutable.run(["evaluate", "--predictions", input, "--threshold-optimize", "example_f1"])
        #expect(result.status == 0, "\(result.stderr)")
        let got = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let want = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures
            .appendingPathComponent("random_300_mentions.example_f1.expected.json"))) as? [String: Any])
        for key in ["pair_accuracy", "pair_precision", "pair_recall", "pair_f1", "tp", "tn", "fp", "fn", "roc_auc",
                    "exact_set_match", "example_precision", "example_recall", "example_f1", "micro_precision",
                    "micro_recall", "micro_f1", "cardinality_accuracy", "top1_accuracy", "recall_at_1_all_gold",
                    "recall_at_3_all_gold", "recall_at_5_all_gold", "recall_at_1_any_hit", "recall_at_3_any_hit",
                    "recall_at_5_any_hit", "best_threshold"] {
            let g = try #require(got[key] as? NSNumber, "missing \(key)")
            let w = try #require(want[key] as? NSNumber)
            #expect(abs(g.doubleValue - w.doubleValue) < 1e-12, "\(key)")
        }
        #expect(got["threshold_optimize"] as? String == "example_f1")
        #expect((got["threshold_scan"] as? [Any])?.count == 19)
    }

    @Test("a bad line is reported with its line number; bad options are refused")
    func errors() throws {
        let bad = FileManager.default.temporaryDirectory.appendingPathComponent("adrnorm-bad-\(getpid()).jsonl")
        try Data(("{\"mention_id\": \"a\", \"text_a\": \"x\", \"candidate_pt_name\": \"p\", \"prob_1\": 0.5}\n"
                  + "\n{\"mention_id\": \"a\", \"text_a\": \"x\"}\n").utf8).write(to: bad)
        defer { try? FileManager.default.removeItem(at: bad) }
        let result = try AdrnormExecutable.run(["evaluate", "--predictions", bad.path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("line 3") && result.stderr.contains("candidate_pt_name"))
        #expect(result.stdout.isEmpty)
        let range = try AdrnormExecutable.run(["evaluate", "--predictions", bad.path, "--thresholds", "0.2,1.7"])
        #expect(range.status != 0 && range.stderr.contains("1.7"))
    }
}
