import Terminology

extension Evaluation.MentionMetrics {
    /// (key, value) pairs in output order, keys as docs/PIPELINE.md §Metrics names them.
    var jsonFields: [(String, String)] {
        [
            ("threshold", JSONText.number(threshold)),
            ("exact_set_match", JSONText.number(exactSetMatch)),
            ("example_precision", JSONText.number(examplePrecision)),
            ("example_recall", JSONText.number(exampleRecall)),
            ("example_f1", JSONText.number(exampleF1)),
            ("micro_precision", JSONText.number(microPrecision)),
            ("micro_recall", JSONText.number(microRecall)),
            ("micro_f1", JSONText.number(microF1)),
            ("cardinality_accuracy", JSONText.number(cardinalityAccuracy)),
            ("mean_predicted_count", JSONText.number(meanPredictedCount)),
        ]
    }
}

extension Evaluation.Report {
    /// The metrics JSON that `adrnorm evaluate` prints: flat snake_case keys
    /// for the metrics at the requested threshold, then the scan.
    public func json(pretty: Bool = true) -> String {
        var fields: [(String, String)] = [
            ("num_pairs", String(pairCount)),
            ("num_mentions", String(mentionCount)),
            ("pair_threshold", JSONText.number(Evaluation.pairThreshold)),
            ("pair_accuracy", JSONText.number(pair.accuracy)),
            ("pair_precision", JSONText.number(pair.precision)),
            ("pair_recall", JSONText.number(pair.recall)),
            ("pair_f1", JSONText.number(pair.f1)),
            ("tp", String(pair.tp)), ("tn", String(pair.tn)), ("fp", String(pair.fp)), ("fn", String(pair.fn)),
            ("roc_auc", pair.rocAUC.map(JSONText.number) ?? "null"),
        ]
        fields += atThreshold.jsonFields
        fields.append(("top1_accuracy", JSONText.number(ranking.top1Accuracy)))
        for k in Evaluation.recallKs {
            fields.append(("recall_at_\(k)_all_gold", JSONText.number(ranking.recallAtKAllGold[k]!)))
        }
        for k in Evaluation.recallKs {
            fields.append(("recall_at_\(k)_any_hit", JSONText.number(ranking.recallAtKAnyHit[k]!)))
        }
        fields.append(("threshold_optimize", JSONText.quote(objective.rawValue)))
        fields.append(("best_threshold", JSONText.number(best.threshold)))
        let nl = pretty ? "\n" : "", ind = pretty ? "  " : "", sep = pretty ? ",\n" : ", "
        func object(_ f: [(String, String)], indent: String) -> String {
            "{" + nl + f.map { "\(indent)\(ind)\(JSONText.quote($0.0)): \($0.1)" }.joined(separator: sep) + nl + indent + "}"
        }
        fields.append(("best", object(best.jsonFields, indent: ind)))
        let scanText = "[" + nl + scan.map { ind + ind + object($0.jsonFields, indent: ind + ind) }
            .joined(separator: sep) + nl + ind + "]"
        fields.append(("threshold_scan", scanText))
        return object(fields, indent: "")
    }
}
