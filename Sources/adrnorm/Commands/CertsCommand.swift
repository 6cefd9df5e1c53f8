import ArgumentParser

// Not built yet: declares the planned options so that `--help` documents
// the interface, and fails with "not implemented yet" when run.
struct Certs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a development CA with server and client certificates (development only).",
        discussion: "Until this subcommand is built, run Certs/make-dev-certs [OUT_DIR] from the repository.")
    @Option(help: "Output folder.")
    var out: String
    func run() throws { throw NotImplementedYet(subcommand: "certs") }
}
