import ArgumentParser

// Not built yet: declares the planned options so that `--help` documents
// the interface, and fails with "not implemented yet" when run.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a benchmark and print its figures next to a baseline measured in the same run.")
    @Argument(help: "Benchmark name.")
    var name: String?
    func run() throws { throw NotImplementedYet(subcommand: "bench") }
}
