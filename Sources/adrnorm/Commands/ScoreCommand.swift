import ArgumentParser

// Not built yet: declares the planned options so that `--help` documents
// the interface, and fails with "not implemented yet" when run.
struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score (mention, candidate) pairs from pair JSONL with the cross-encoder; writes prediction JSONL.")
    @Option(help: "Model folder (default: the synthetic demo model).")
    var model: String?
    @Option(help: "Pair JSONL file.")
    var input: String
    func run() throws { throw NotImplementedYet(subcommand: "score") }
}
