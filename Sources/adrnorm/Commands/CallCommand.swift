import ArgumentParser

// Not built yet: declares the planned options so that `--help` documents
// the interface, and fails with "not implemented yet" when run.
struct Call: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call one method of a running server and print the JSON result (a client for people).")
    @Argument(help: "Method: retrieve, score, normalize, info or health.")
    var method: String
    @Option(help: "Server address, HOST:PORT.")
    var server: String
    @Option(help: "CA bundle that the server certificate must chain to, PEM.")
    var ca: String
    @Option(help: "Client certificate, PEM.")
    var cert: String
    @Option(help: "Client private key, PEM.")
    var key: String
    @Argument(help: "Method arguments, e.g. the mention text.")
    var arguments: [String] = []
    func run() throws { throw NotImplementedYet(subcommand: "call") }
}
