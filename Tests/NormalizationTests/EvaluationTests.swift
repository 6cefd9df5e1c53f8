import Foundation
import Testing
import Normalization
import Terminology

/// Compares `Evaluation` with the independent Python reference
/// (Scripts/reference/evaluate_reference.py) on the committed fixtures.
@Suite struct EvaluationTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/evaluate")

    static let cases: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: fixtures.path)) ?? []
        return names.filter { $0.hasSuffix(".jsonl") }.map { String($0.dropLast(".jsonl".count)) }.sorted()
    }()

    static func compare(_ got: Any, _ want: Any, path: String) {
        switch (got, want) {
        case (let g as [String: Any], let w as [String: Any]):
            #expect(Set(g.keys) == Set(w.keys), "keys differ at \(path)")
            for (k, wv) in w { if let gv = g[k] { compare(gv, wv, path: path + "." + k) } }
        case (let g as [Any], let w as [Any]):
            #expect(g.count == w.count, "lengths differ at \(path)")
            for (i, (gv, wv)) in zip(g, w).enumerated() { compare(gv, wv, path: "\(path)[\(i)]") }
        case (let g as String, let w as String):
            #expect(g == w, "\(path): \(g) vs \(w)")
        case (let g as NSNumber, let w as NSNumber):
            #expect(abs(g.doubleValue - w.doubleValue) <= 1e-12, "\(path): \(g) vs \(w)")
        case (is NSNull, is NSNull):
            break
        default:
            Issue.record("\(path): \(got) vs \(want)")
        }
    }

    @Test("fixtures exist")
    func fixturesExist() {
        #expect(Self.cases.count >= 7)
        #expect(Self.cases.contains("edge_no_positive_candidate"))
    }

    @Test("every metric equals the Python reference", arguments: cases)
    func matchesReference(name: String) throws {
        let rows = try PairRecord.readFile(Self.fixtures.appendingPathComponent(name + ".jsonl").path)
        let mentions = try Evaluation.mentions(from: rows.map(\.record), lineNumbers: rows.map(\.line))
        for objective in Evaluation.ThresholdObjective.allCases {
            let report = try Evaluation.evaluate(mentions, threshold: 0.3, objective: objective)
            let got = try JSONSerialization.jsonObject(with: Data(report.json().utf8))
            let expectedURL = Self.fixtures.appendingPathComponent("\(name).\(objective.rawValue).expected.json")
            let want = try JSONSerialization.jsonObject(with: Data(contentsOf: expectedURL))
            Self.compare(got, want, path: "\(name)/\(objective.rawValue)")
        }
    }

    @Test("hand-checked values on the edge cases")
    func handChecked() throws {
        func report(_ name: String) throws -> Evaluation.Report {
            let rows = try PairRecord.readFile(Self.fixtures.appendingPathComponent(name + ".jsonl").path)
            return try Evaluation.evaluate(Evaluation.mentions(from: rows.map(\.record)), threshold: 0.3)
        }
        // m1's gold PT is not among its candidates: no recall for m1 at any k.
        let noPositive = try report("edge_no_positive_candidate")
        #expect(noPositive.ranking.recallAtKAnyHit[5] == 0.5)
        #expect(noPositive.pair.tp == 1 && noPositive.pair.fp == 1)
        // Nothing reaches 0.3: no predicted PT at all.
        let nothing = try report("edge_nothing_above_threshold")
        #expect(nothing.atThreshold.exactSetMatch == 0 && nothing.atThreshold.microPrecision == 0)
        #expect(nothing.atThreshold.meanPredictedCount == 0)
        // All probabilities equal: AUC one half, top-1 is the first line.
        let equal = try report("edge_all_equal_probabilities")
        #expect(equal.pair.rocAUC == 0.5)
        #expect(equal.ranking.top1Accuracy == 1.0 / 3)
        // Ties: file order decides top-1 (t1's gold is second, t2's first).
        let ties = try report("edge_ranking_ties")
        #expect(ties.ranking.top1Accuracy == 0.5)
        #expect(ties.ranking.recallAtKAllGold[3] == 1)
    }

    @Test("errors: no lines, a line without prob_1, a threshold outside [0, 1]")
    func errors() throws {
        #expect(throws: Evaluation.Error.noPredictions) { try Evaluation.mentions(from: []) }
        let record = PairRecord(mentionID: "a", mention: "x", candidate: PreferredTerm(ptCode: "1", ptName: "p"))
        #expect(throws: Evaluation.Error.missingProbability(line: 7)) {
            try Evaluation.mentions(from: [record], lineNumbers: [7])
        }
        var scored = record
        scored.prediction = .init(prob1: 0.4, predLabel: 0)
        let mentions = try Evaluation.mentions(from: [scored])
        #expect(throws: Evaluation.Error.invalidThreshold(1.5)) {
            try Evaluation.evaluate(mentions, threshold: 1.5)
        }
        #expect(throws: Evaluation.Error.invalidThreshold(-0.1)) {
            try Evaluation.evaluate(mentions, threshold: 0.3, scan: [0.2, -0.1])
        }
    }
}
