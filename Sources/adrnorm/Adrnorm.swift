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
        subcommands: [
            Serve.self, Retrieve.self, Tokenize.self, Score.self, Normalize.self,
            Evaluate.self, Certs.self, Call.self, Bench.self,
        ]
    )
}
