import Terminology

extension Evaluation.MentionMetrics {
    /// (key, value) pairs in output order, keys as docs/PIPELINE.md §Metrics names them.
    var jsonFields: [(String, JSONValue)] {
        [
            ("threshold", .number(threshold)),
            ("exact_set_match", .number(exactSetMatch)),
            ("example_precision", .number(examplePrecision)),
            ("example_recall", .number(exampleRecall)),
            ("example_f1", .number(exampleF1)),
            ("micro_precision", .number(microPrecision)),
            ("micro_recall", .number(microRecall)),
            ("micro_f1", .number(microF1)),
            ("cardinality_accuracy", .number(cardinalityAccuracy)),
            ("mean_predicted_count", .number(meanPredictedCount)),
        ]
    }
}

extension Evaluation.Report {
    /// The metrics JSON that `adrnorm evaluate` prints: flat snake_case keys
    /// for the metrics at the requested threshold, then the scan.
    public func json(pretty: Bool = true) -> String {
        var fields: [(String, JSONValue)] = [
            ("num_pairs", .integer(pairCount)),
            ("num_mentions", .integer(mentionCount)),
            ("pair_threshold", .number(Evaluation.pairThreshold)),
            ("pair_accuracy", .number(pair.accuracy)),
            ("pair_precision", .number(pair.precision)),
            ("pair_recall", .number(pair.recall)),
            ("pair_f1", .number(pair.f1)),
            ("tp", .integer(pair.tp)), ("tn", .integer(pair.tn)), ("fp", .integer(pair.fp)), ("fn", .integer(pair.fn)),
            ("roc_auc", pair.rocAUC.map { .number($0) } ?? .null),
        ]
        fields += atThreshold.jsonFields
        fields.append(("top1_accuracy", .number(ranking.top1Accuracy)))
        for k in Evaluation.recallKs {
            fields.append(("recall_at_\(k)_all_gold", .number(ranking.recallAtKAllGold[k]!)))
        }
        for k in Evaluation.recallKs {
            fields.append(("recall_at_\(k)_any_hit", .number(ranking.recallAtKAnyHit[k]!)))
        }
        fields.append(("threshold_optimize", .string(objective.rawValue)))
        fields.append(("best_threshold", .number(best.threshold)))
        fields.append(("best", .object(best.jsonFields)))
        fields.append(("threshold_scan", .array(scan.map { .object($0.jsonFields) })))
        return JSONValue.object(fields).text(pretty: pretty)
    }
}
