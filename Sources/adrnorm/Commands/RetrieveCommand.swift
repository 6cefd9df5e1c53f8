import ArgumentParser

// Not built yet: declares the planned options so that `--help` documents
// the interface, and fails with "not implemented yet" when run.
struct Retrieve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Retrieve the top-k candidate PTs for mentions with character BM25 (or exact alias match); writes JSONL.")
    @Option(help: "Dictionary CSV or MedDRA ASCII folder (default: the synthetic demo dictionary).")
    var dictionary: String?
    @Option(help: "Candidate text template: full, pt_only or pt_llt.")
    var template: String = "full"
    @Option(help: "Retrieval mode: bm25 or exact.")
    var mode: String = "bm25"
    @Option(name: .customLong("top-k"), help: "Candidates per mention.")
    var topK: Int = 100
    @Option(help: "One mention.")
    var mention: String?
    @Option(help: "Input file (JSONL or plain text, one mention per line).")
    var input: String?
    func run() throws { throw NotImplementedYet(subcommand: "retrieve") }
}
