import ArgumentParser
import CrossEncoder
import Foundation
import Terminology

/// `adrnorm score`: cross-encoder probabilities for pair JSONL.
struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score (mention, candidate) pairs from pair JSONL with the cross-encoder; writes prediction JSONL.",
        discussion: """
            Each input line is a pair record (mention_id, text_a or raw_term, candidate_pt_name, \
            candidate_llt_names, candidate_hlt_name, …). The candidate text is rendered with --template; \
            each output line is the record plus logit_0, logit_1, prob_0, prob_1 (the probability of the \
            label named "match") and pred_label (prob_1 ≥ 0.5). Lines that cannot be read (a line \
            that does not decode in --input-encoding included) are reported with their line numbers and \
            nothing is written.
            """)
    @Option(help: "Model folder (default: the SYNTHETIC demo model in Demo/model).")
    var model: String?
    @Option(help: "Pair JSONL file.")
    var input: String
    @OptionGroup var inputEncoding: InputEncodingOption
    @Option(help: "Candidate text template.")
    var template: CandidateTemplate = .default
    @Option(name: .customLong("batch-size"), help: "Pairs per forward pass.")
    var batchSize: Int = 64
    @Option(name: .customLong("max-length"), help: "Maximum pair length in tokens, special tokens included.")
    var maxLength: Int = 64
    @Option(help: "Threads per forward pass (a batch is split across them by pairs).")
    var threads: Int = EncoderOptions.defaultThreads
    @Option(help: "Arithmetic: fp32 (faithful to the published model) or int8 (opt-in, faster, approximate).")
    var precision: Precision = .fp32
    @Flag(name: .customLong("allow-vocab-mismatch"),
          help: "Accept a vocab.txt with fewer tokens than config.json's vocab_size (refused by default: it is usually another model's vocabulary).")
    var allowVocabMismatch = false
    @Option(help: "Write the predictions to FILE instead of stdout.")
    var output: String?

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let records = try PairRecord.readFile(input, encoding: inputEncoding.encoding).map(\.record)
        let directory = try ModelOption.resolve(model, command: "adrnorm score")
        let scorer = try PairScorer(modelDirectory: directory, maxLength: maxLength,
                                    options: EncoderOptions(precision: precision, threads: threads),
                                    allowVocabularyMismatch: allowVocabMismatch)
        for w in scorer.warnings { Stderr.write("warning: adrnorm score: \(w)\n") }
        let pairs = records.map { r in
            (mention: r.mention,
             candidate: template.render(ptName: r.candidatePTName, aliases: r.candidateLLTNames,
                                        hltName: r.candidateHLTName, hlgtName: r.candidateHLGTName,
                                        socName: r.candidateSOCName))
        }
        let scores = try scorer.score(pairs, batchSize: batchSize)
        var text = ""
        for (record, score) in zip(records, scores) {
            var r = record
            let prob1 = Double(score.matchProbability)
            r.prediction = .init(prob1: prob1, predLabel: prob1 >= 0.5 ? 1 : 0,
                                 logit0: Double(score.notMatchLogit), logit1: Double(score.matchLogit),
                                 prob0: Double(score.notMatchProbability))
            text += r.jsonLine() + "\n"
        }
        if let output {
            do { try text.write(toFile: output, atomically: true, encoding: .utf8) } catch {
                throw ValidationError("\(output): cannot write (\(error.localizedDescription))")
            }
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}
