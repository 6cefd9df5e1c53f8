import ArgumentParser

// Not built yet: declares the planned options so that `--help` documents
// the interface, and fails with "not implemented yet" when run.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the WordPiece pair encoding of a mention and a candidate text as JSON.")
    @Option(help: "Model folder with vocab.txt and tokenizer_config.json.")
    var model: String?
    @Option(name: .customLong("text-a"), help: "First text (the mention).")
    var textA: String
    @Option(name: .customLong("text-b"), help: "Second text (the candidate).")
    var textB: String?
    @Option(name: .customLong("max-length"), help: "Maximum sequence length, special tokens included.")
    var maxLength: Int = 64
    func run() throws { throw NotImplementedYet(subcommand: "tokenize") }
}
