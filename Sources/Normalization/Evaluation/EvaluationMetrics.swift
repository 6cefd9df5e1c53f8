import Terminology

/// Offline evaluation of prediction JSONL (docs/PIPELINE.md §Metrics).
///
/// Conventions, where the published description leaves room (the Python
/// reference `Scripts/reference/evaluate_reference.py` implements the same):
/// - A pair is predicted positive when `prob_1 ≥ 0.5` (pair metrics) or
///   `prob_1 ≥ threshold` (mention metrics). Precision, recall or F1 with a
///   zero denominator is 0.
/// - A mention's gold set is the `gold_pt_codes` of its first line that has
///   any; when no line of the mention lists gold codes, the candidates with
///   `label = 1`. A pair's label is `label`, or whether its candidate is in
///   the gold set when the line has no label.
/// - Per mention, example precision is |P∩G|/|P| and recall |P∩G|/|G|; an
///   empty P with an empty G counts 1 for precision, recall and F1; an empty
///   P or G alone counts 0 for the empty side's ratio.
/// - Ranking for top-1 and recall@k is by `prob_1` descending, ties by line
///   order. `recall_at_k_all_gold` is true when the top k hold every gold PT
///   (vacuously true for an empty gold set); `recall_at_k_any_hit` when they
///   hold at least one (false for an empty gold set). Top-1 accuracy counts
///   a mention when its best candidate is gold.
/// - ROC-AUC is the Mann-Whitney statistic with ties counted one half
///   (sklearn's value); nil when only one class is present.
public enum Evaluation {
    /// One mention's candidates in file order.
    public struct Mention: Sendable, Equatable {
        public var mentionID: String
        public var gold: Set<String>
        public var candidates: [(code: String, prob1: Double, label: Int)]

        public static func == (a: Mention, b: Mention) -> Bool {
            a.mentionID == b.mentionID && a.gold == b.gold && a.candidates.count == b.candidates.count
                && zip(a.candidates, b.candidates).allSatisfy { $0.code == $1.code && $0.prob1 == $1.prob1 && $0.label == $1.label }
        }
    }

    public enum ThresholdObjective: String, Sendable, CaseIterable {
        case exactSetMatch = "exact_set_match"
        case exampleF1 = "example_f1"
    }

    /// Mention-level metrics at one threshold.
    public struct MentionMetrics: Sendable, Equatable {
        public var threshold: Double
        public var exactSetMatch: Double
        public var examplePrecision: Double
        public var exampleRecall: Double
        public var exampleF1: Double
        public var microPrecision: Double
        public var microRecall: Double
        public var microF1: Double
        public var cardinalityAccuracy: Double
        public var meanPredictedCount: Double
    }

    public struct PairMetrics: Sendable, Equatable {
        public var accuracy: Double
        public var precision: Double
        public var recall: Double
        public var f1: Double
        public var tp: Int, tn: Int, fp: Int, fn: Int
        public var rocAUC: Double?
    }

    public struct RankingMetrics: Sendable, Equatable {
        public var top1Accuracy: Double
        /// k → fraction, for k in `Evaluation.recallKs`.
        public var recallAtKAllGold: [Int: Double]
        public var recallAtKAnyHit: [Int: Double]
    }

    public struct Report: Sendable, Equatable {
        public var pairCount: Int
        public var mentionCount: Int
        public var pair: PairMetrics
        public var atThreshold: MentionMetrics
        public var ranking: RankingMetrics
        public var scan: [MentionMetrics]
        public var objective: ThresholdObjective
        public var best: MentionMetrics
    }

    public static let recallKs = [1, 3, 5]
    public static let pairThreshold = 0.5
    /// The default scan: 0.05, 0.10, …, 0.95.
    public static let defaultScan: [Double] = (1...19).map { Double($0) / 20 }

    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        case noPredictions
        case missingProbability(line: Int)
        case invalidThreshold(Double)
        /// No line has `gold_pt_codes` or `label`: nothing to measure against.
        case noGold(lines: Int, mentions: Int)
        public var description: String {
            switch self {
            case .noPredictions: "no prediction lines to evaluate"
            case .missingProbability(let line): "line \(line): no prob_1 (is this a prediction file?)"
            case .invalidThreshold(let t): "threshold \(t) is outside [0, 1]"
            case .noGold(let lines, let mentions):
                "no gold labels: none of its \(lines) line(s) (\(mentions) mention(s)) has gold_pt_codes or label, "
                    + "so there is nothing to measure the predictions against. Evaluate predictions of labelled "
                    + "input: `adrnorm normalize --input` on pair JSONL with gold_pt_codes (or label) copies them "
                    + "into its output"
            }
        }
    }

    /// How many mentions carry gold labels: a mention has them when one of
    /// its lines has a non-empty `gold_pt_codes` or any `label`.
    public struct GoldCoverage: Sendable, Equatable {
        public var mentionCount: Int
        /// Mentions with neither: their gold set is empty by convention.
        public var unlabelledMentions: Int
        /// The first unlabelled mention and its first line (1-based).
        public var firstUnlabelledID: String?
        public var firstUnlabelledLine: Int?
    }

    /// Refuses records without any gold labels (every metric would be made
    /// up: each mention's gold set silently empty); returns the coverage so
    /// a caller can warn about the unlabelled mentions of a partly labelled
    /// file. `lineNumbers[i]` is the file line of `records[i]`.
    @discardableResult
    public static func requireGold(_ records: [PairRecord], lineNumbers: [Int]? = nil) throws(Error) -> GoldCoverage {
        guard !records.isEmpty else { throw .noPredictions }
        var order: [String] = []
        var firstLine: [String: Int] = [:]
        var labelled = Set<String>()
        for (i, r) in records.enumerated() {
            if firstLine[r.mentionID] == nil {
                order.append(r.mentionID)
                firstLine[r.mentionID] = lineNumbers?[i] ?? i + 1
            }
            if !r.goldPTCodes.isEmpty || r.label != nil { labelled.insert(r.mentionID) }
        }
        guard !labelled.isEmpty else { throw .noGold(lines: records.count, mentions: order.count) }
        let first = order.first { !labelled.contains($0) }
        return GoldCoverage(mentionCount: order.count, unlabelledMentions: order.count - labelled.count,
                            firstUnlabelledID: first, firstUnlabelledLine: first.flatMap { firstLine[$0] })
    }

    /// Groups prediction records into mentions (order of first appearance).
    /// `lineNumbers[i]` is the file line of `records[i]`, for errors.
    public static func mentions(from records: [PairRecord], lineNumbers: [Int]? = nil) throws(Error) -> [Mention] {
        guard !records.isEmpty else { throw .noPredictions }
        var order: [String] = []
        var byID: [String: (explicitGold: [String]?, rows: [(code: String, prob1: Double, label: Int?)])] = [:]
        for (i, r) in records.enumerated() {
            guard let p = r.prediction else { throw .missingProbability(line: lineNumbers?[i] ?? i + 1) }
            if byID[r.mentionID] == nil {
                order.append(r.mentionID)
                byID[r.mentionID] = (nil, [])
            }
            if byID[r.mentionID]!.explicitGold == nil && !r.goldPTCodes.isEmpty {
                byID[r.mentionID]!.explicitGold = r.goldPTCodes
            }
            byID[r.mentionID]!.rows.append((r.candidatePTCode, p.prob1, r.label))
        }
        return order.map { id in
            let entry = byID[id]!
            let gold = Set(entry.explicitGold ?? entry.rows.filter { $0.label == 1 }.map(\.code))
            let candidates = entry.rows.map { row in
                (code: row.code, prob1: row.prob1, label: row.label ?? (gold.contains(row.code) ? 1 : 0))
            }
            return Mention(mentionID: id, gold: gold, candidates: candidates)
        }
    }

    public static func evaluate(_ mentions: [Mention], threshold: Double, scan: [Double] = defaultScan,
                                objective: ThresholdObjective = .exactSetMatch) throws(Error) -> Report {
        guard !mentions.isEmpty else { throw .noPredictions }
        for t in [threshold] + scan where !(t >= 0 && t <= 1) { throw .invalidThreshold(t) }
        let scanned = scan.map { mentionMetrics(mentions, threshold: $0) }
        let best = scanned.min { a, b in
            // The better of a and b sorts first: objective, then the other
            // metric, then the lower threshold.
            let (a1, a2, b1, b2) = objective == .exactSetMatch
                ? (a.exactSetMatch, a.exampleF1, b.exactSetMatch, b.exampleF1)
                : (a.exampleF1, a.exactSetMatch, b.exampleF1, b.exactSetMatch)
            if a1 != b1 { return a1 > b1 }
            if a2 != b2 { return a2 > b2 }
            return a.threshold < b.threshold
        } ?? mentionMetrics(mentions, threshold: threshold)
        return Report(pairCount: mentions.reduce(0) { $0 + $1.candidates.count }, mentionCount: mentions.count,
                      pair: pairMetrics(mentions), atThreshold: mentionMetrics(mentions, threshold: threshold),
                      ranking: rankingMetrics(mentions), scan: scanned, objective: objective, best: best)
    }

    static func ratio(_ a: Double, _ b: Double) -> Double { b == 0 ? 0 : a / b }
    static func f1(_ p: Double, _ r: Double) -> Double { p + r == 0 ? 0 : 2 * p * r / (p + r) }

    public static func pairMetrics(_ mentions: [Mention]) -> PairMetrics {
        var tp = 0, tn = 0, fp = 0, fn = 0
        var scored: [(Double, Int)] = []
        for m in mentions {
            for c in m.candidates {
                let predicted = c.prob1 >= pairThreshold
                switch (predicted, c.label == 1) {
                case (true, true): tp += 1
                case (true, false): fp += 1
                case (false, true): fn += 1
                case (false, false): tn += 1
                }
                scored.append((c.prob1, c.label))
            }
        }
        let total = Double(tp + tn + fp + fn)
        let p = ratio(Double(tp), Double(tp + fp)), r = ratio(Double(tp), Double(tp + fn))
        return PairMetrics(accuracy: ratio(Double(tp + tn), total), precision: p, recall: r, f1: f1(p, r),
                           tp: tp, tn: tn, fp: fp, fn: fn, rocAUC: rocAUC(scored))
    }

    /// Mann-Whitney U / (n₊ n₋) with average ranks for ties.
    public static func rocAUC(_ scored: [(score: Double, label: Int)]) -> Double? {
        let positives = scored.filter { $0.label == 1 }.count
        let negatives = scored.count - positives
        guard positives > 0, negatives > 0 else { return nil }
        let sorted = scored.sorted { $0.score < $1.score }
        var rankSumPositive = 0.0
        var i = 0
        while i < sorted.count {
            var j = i
            while j + 1 < sorted.count && sorted[j + 1].score == sorted[i].score { j += 1 }
            let averageRank = Double(i + j + 2) / 2   // 1-based ranks i+1 … j+1
            for k in i...j where sorted[k].label == 1 { rankSumPositive += averageRank }
            i = j + 1
        }
        let u = rankSumPositive - Double(positives) * Double(positives + 1) / 2
        return u / (Double(positives) * Double(negatives))
    }

    public static func mentionMetrics(_ mentions: [Mention], threshold: Double) -> MentionMetrics {
        var exact = 0.0, exP = 0.0, exR = 0.0, exF = 0.0, card = 0.0, predictedTotal = 0.0
        var hits = 0.0, predicted = 0.0, gold = 0.0
        for m in mentions {
            let p = Set(m.candidates.filter { $0.prob1 >= threshold }.map(\.code))
            let g = m.gold
            let overlap = Double(p.intersection(g).count)
            if p == g { exact += 1 }
            if p.count == g.count { card += 1 }
            let precision: Double, recall: Double, f: Double
            if p.isEmpty && g.isEmpty {
                (precision, recall, f) = (1, 1, 1)
            } else {
                precision = ratio(overlap, Double(p.count))
                recall = ratio(overlap, Double(g.count))
                f = f1(precision, recall)
            }
            exP += precision; exR += recall; exF += f
            hits += overlap; predicted += Double(p.count); gold += Double(g.count)
            predictedTotal += Double(p.count)
        }
        let n = Double(mentions.count)
        let microP = ratio(hits, predicted), microR = ratio(hits, gold)
        return MentionMetrics(threshold: threshold, exactSetMatch: exact / n, examplePrecision: exP / n,
                              exampleRecall: exR / n, exampleF1: exF / n, microPrecision: microP,
                              microRecall: microR, microF1: f1(microP, microR), cardinalityAccuracy: card / n,
                              meanPredictedCount: predictedTotal / n)
    }

    public static func rankingMetrics(_ mentions: [Mention]) -> RankingMetrics {
        var top1 = 0.0
        var allGold = Dictionary(uniqueKeysWithValues: recallKs.map { ($0, 0.0) })
        var anyHit = allGold
        for m in mentions {
            // Stable: ties keep file order.
            let ranked = m.candidates.enumerated().sorted { a, b in
                a.element.prob1 != b.element.prob1 ? a.element.prob1 > b.element.prob1 : a.offset < b.offset
            }.map(\.element.code)
            if let first = ranked.first, m.gold.contains(first) { top1 += 1 }
            for k in recallKs {
                let top = Set(ranked.prefix(k))
                if m.gold.isSubset(of: top) { allGold[k]! += 1 }
                if !m.gold.isDisjoint(with: top) { anyHit[k]! += 1 }
            }
        }
        let n = Double(mentions.count)
        return RankingMetrics(top1Accuracy: top1 / n, recallAtKAllGold: allGold.mapValues { $0 / n },
                              recallAtKAnyHit: anyHit.mapValues { $0 / n })
    }
}
