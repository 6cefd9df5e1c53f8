import ArgumentParser

// Only the `encoder` benchmark is built (BenchEncoder.swift); other names
// fail with "not implemented yet".
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a benchmark and print its figures next to a baseline measured in the same run.",
        discussion: "adrnorm bench encoder --model DIR [--batch-size 100] [--length 64] [--threads 2] [--repeats 3]")
    @Argument(help: "Benchmark name (encoder).")
    var name: String?
    @Argument(parsing: .allUnrecognized, help: "Options of the named benchmark.")
    var options: [String] = []
    func run() throws {
        switch name {
        case "encoder": try BenchEncoder.run(options)
        default: throw NotImplementedYet(subcommand: "bench")
        }
    }
}
