import ArgumentParser
import Foundation

@main
struct Adrnorm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adrnorm",
        abstract: "Normalize Chinese adverse-drug-reaction mentions to MedDRA Preferred Terms.",
        discussion: """
            Retrieval is character BM25 over the dictionary's candidate texts; scoring is a BERT \
            cross-encoder; a mention maps to every PT whose probability reaches the threshold. \
            Without --model/--dictionary the synthetic demo assets in Demo/ are used: they are \
            not MedDRA and not for clinical use. Machine-readable output goes to stdout as JSON \
            or JSONL; logs and progress go to stderr.
            """,
        version: AdrnormVersion.long,
        subcommands: [
            Serve.self, Retrieve.self, Tokenize.self, Score.self, Normalize.self,
            Evaluate.self, Certs.self, Call.self, Bench.self,
        ]
    )

    /// Checks the CPU before anything runs: the encoder is built for AVX2 + FMA
    /// (haswell and later, Zen and later), and without them it would die on
    /// an illegal instruction in the middle of a request.
    static func main() async {
        if let missing = CPUFeatures.missingForEncoder() {
            FileHandle.standardError.write(Data(("adrnorm: this CPU lacks \(missing.joined(separator: ", ")), "
                + "which adrnorm's encoder is built for (x86-64 with AVX2 and FMA: Intel Haswell or AMD Zen and later)\n").utf8))
            Foundation.exit(1)
        }
        let arguments = Array(CommandLine.arguments.dropFirst())
        let expanded: (arguments: [String], file: ServeConfigFile, origins: [String: Int])?
        do {
            expanded = try ServeConfigFile.expand(arguments)
        } catch let failure as ServeConfigFile.Failure {
            usageError(failure.description)
        } catch {
            Serve.exit(withError: error)
        }
        guard let expanded else { return await main(nil) }
        // Parsed once here so that an error about a value from the file names its line.
        do {
            _ = try parseAsRoot(expanded.arguments)
        } catch {
            let message = Serve.message(for: error)
            if Serve.exitCode(for: error) != .success,
               let located = ServeConfigFile.locate(message, path: expanded.file.path, origins: expanded.origins) {
                usageError(located)
            }
        }
        await main(expanded.arguments)
    }

    /// A config file error: the message, where to read more, exit status 64 as for a bad flag.
    static func usageError(_ message: String) -> Never {
        FileHandle.standardError.write(Data("Error: \(message)\n  See 'adrnorm serve --help' and docs/OPERATIONS.md.\n".utf8))
        Foundation.exit(64)
    }
}
