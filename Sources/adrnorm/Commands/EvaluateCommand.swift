import ArgumentParser

// Not built yet: declares the planned options so that `--help` documents
// the interface, and fails with "not implemented yet" when run.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compute pair-level and mention-level metrics from prediction JSONL; writes metrics JSON.")
    @Option(help: "Prediction JSONL file.")
    var predictions: String
    @Option(help: "Decision threshold on prob_1.")
    var threshold: Double = 0.3
    @Option(help: "Comma-separated thresholds to scan.")
    var thresholds: String?
    @Option(name: .customLong("threshold-optimize"), help: "Selection rule of the scan: exact_set_match or example_f1.")
    var thresholdOptimize: String = "exact_set_match"
    func run() throws { throw NotImplementedYet(subcommand: "evaluate") }
}
