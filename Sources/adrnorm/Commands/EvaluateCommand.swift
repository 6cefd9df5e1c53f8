import ArgumentParser
import Foundation
import Normalization
import Terminology

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compute pair-level and mention-level metrics from prediction JSONL; writes metrics JSON.",
        discussion: """
            Reads prediction JSONL (pair lines with prob_1; mention_id, candidate_pt_code, \
            gold_pt_codes and/or label), in UTF-8 or, with --input-encoding gb18030, GB18030/GBK; every \
            bad line (one that does not decode included) is reported with its line number. A file in which no line has gold_pt_codes or label is refused \
            (there is nothing to measure against); mentions without either in a partly labelled file \
            count as having no gold PT, with a warning. Prints one JSON object: pair accuracy/precision/recall/F1 \
            at 0.5 with tp/tn/fp/fn and roc_auc; at --threshold the mention-level exact_set_match, \
            example and micro precision/recall/F1, cardinality_accuracy; top1_accuracy and \
            recall_at_{1,3,5}_{all_gold,any_hit} ranked by prob_1; and a threshold scan with the \
            best threshold by --threshold-optimize (then the other metric, then the lower \
            threshold). Conventions for empty sets are documented in \
            Sources/Normalization/Evaluation/EvaluationMetrics.swift.
            """)

    @Option(help: "Prediction JSONL file ('-' for standard input).")
    var predictions: String
    @OptionGroup var inputEncoding: InputEncodingOption

    @Option(help: "Decision threshold on prob_1 for the mention-level metrics, in [0, 1].")
    var threshold: Double = NormalizationDefaults.threshold

    @Option(help: "Comma-separated thresholds to scan (default 0.05, 0.10, …, 0.95).")
    var thresholds: String?

    @Option(name: .customLong("threshold-optimize"),
            help: "Selection rule of the scan.")
    var thresholdOptimize: Evaluation.ThresholdObjective = .exactSetMatch

    @Flag(help: "Print the JSON on one line.")
    var compact = false

    func validate() throws {
        guard threshold >= 0 && threshold <= 1 else {
            throw ValidationError("--threshold must be in [0, 1], got \(threshold)")
        }
        _ = try scanThresholds()
    }

    func scanThresholds() throws -> [Double] {
        guard let thresholds else { return Evaluation.defaultScan }
        let values = thresholds.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !values.isEmpty else { throw ValidationError("--thresholds is empty") }
        return try values.map { text in
            guard let v = Double(text), v >= 0, v <= 1 else {
                throw ValidationError("--thresholds: '\(text)' is not a number in [0, 1]")
            }
            return v
        }
    }

    func run() throws {
        let rows = try PairRecord.readFile(predictions, encoding: inputEncoding.encoding)
        let records = rows.map(\.record), lines = rows.map(\.line)
        let report: Evaluation.Report
        do {
            // Without gold labels every metric would be made up: refuse.
            let coverage = try Evaluation.requireGold(records, lineNumbers: lines)
            if coverage.unlabelledMentions > 0 {
                Stderr.write("warning: adrnorm evaluate: \(predictions): \(coverage.unlabelledMentions) of "
                             + "\(coverage.mentionCount) mention(s) have neither gold_pt_codes nor label (first: mention_id "
                             + "\(coverage.firstUnlabelledID ?? "?"), line \(coverage.firstUnlabelledLine ?? 0)); they are "
                             + "evaluated as mentions with no gold PT\n")
            }
            let mentions = try Evaluation.mentions(from: records, lineNumbers: lines)
            report = try Evaluation.evaluate(mentions, threshold: threshold, scan: try scanThresholds(),
                                             objective: thresholdOptimize)
        } catch let error as Evaluation.Error {
            throw CommandFailure("adrnorm evaluate: \(predictions): \(error)")
        }
        print(report.json(pretty: !compact))
    }
}
