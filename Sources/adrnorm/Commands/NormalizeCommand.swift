import ArgumentParser

// Not built yet: declares the planned options so that `--help` documents
// the interface, and fails with "not implemented yet" when run.
struct Normalize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the full pipeline (retrieve, score, threshold) over a file of mentions; writes prediction JSONL.")
    @Option(help: "Model folder (default: the synthetic demo model).")
    var model: String?
    @Option(help: "Dictionary CSV or MedDRA ASCII folder (default: the synthetic demo dictionary).")
    var dictionary: String?
    @Option(help: "Pair/prediction JSONL, JSONL with mention_id + text_a, or plain text (one mention per line).")
    var input: String
    @Option(help: "Output file (default: stdout).")
    var output: String?
    @Option(name: .customLong("top-k"), help: "Candidates retrieved and scored per mention.")
    var topK: Int = 100
    @Option(help: "Keep every PT whose probability is at least this.")
    var threshold: Double = 0.3
    func run() throws { throw NotImplementedYet(subcommand: "normalize") }
}
