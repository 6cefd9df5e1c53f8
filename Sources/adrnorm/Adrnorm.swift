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
        await main(nil)
    }
}
