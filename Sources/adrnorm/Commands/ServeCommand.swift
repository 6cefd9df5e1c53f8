import ArgumentParser

// Not built yet: declares the planned options so that `--help` documents
// the interface, and fails with "not implemented yet" when run.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve Retrieve, Score, Normalize, NormalizeStream, Info and Health over mutually authenticated TLS.")
    @Option(help: "Hugging Face BertForSequenceClassification folder (default: the synthetic demo model).")
    var model: String?
    @Option(help: "Dictionary CSV or MedDRA ASCII folder (default: the synthetic demo dictionary).")
    var dictionary: String?
    @Option(help: "Address to listen on, HOST:PORT.")
    var listen: String = "127.0.0.1:7443"
    @Option(help: "Server certificate chain, PEM.")
    var cert: String?
    @Option(help: "Server private key, PEM.")
    var key: String?
    @Option(name: .customLong("client-ca"), help: "CA bundle that client certificates must chain to, PEM.")
    var clientCA: String?
    @Option(name: .customLong("allow-identity"), help: "Client identity (SAN URI/DNS or CN) allowed to call; repeatable.")
    var allowIdentity: [String] = []
    func run() throws { throw NotImplementedYet(subcommand: "serve") }
}
