import ArgumentParser
import Foundation
import Normalization
import Retrieval
import Terminology

/// `adrnorm retrieve` (docs/PIPELINE.md §BM25): stage 1 of the pipeline on the
/// command line. One JSON object per mention — `mention_id`, `text`,
/// `candidates` [{rank, pt_code, pt_name, score, retrieval_prob}] — or, with
/// `--emit pairs`, pair JSONL that `adrnorm score`/`evaluate` read unchanged.
struct Retrieve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Retrieve the top-k candidate PTs for mentions with character BM25 (or exact alias match); writes JSONL.",
        discussion: """
            --input takes pair/prediction JSONL (one mention per distinct mention_id, gold fields kept), \
            JSONL with mention_id and text_a (or raw_term), or plain text with one mention per line (ids are \
            line numbers; blank lines are skipped), in UTF-8 or, with --input-encoding gb18030, GB18030/GBK. A bad \
            line stops the run, naming the file and line. Dictionary facts, load warnings and counts go to stderr. \
            --top-k above the dictionary's PT count is capped to that count (every PT is a candidate), as in \
            `normalize` and the server, and stderr says so once.
            """)

    @Option(help: "Dictionary CSV or MedDRA ASCII folder (default: the synthetic demo dictionary in Demo/).")
    var dictionary: String?
    @Option(help: "Encoding of a MedDRA ASCII folder: utf-8 or gb18030 (a CSV is always UTF-8).")
    var encoding: String = "utf-8"
    @Option(help: "Candidate text template.")
    var template: CandidateTemplate = .full
    @Option(help: "Retrieval mode.")
    var mode: RetrievalMode = .bm25
    @Option(name: .customLong("top-k"),
            help: "Candidates per mention (default \(NormalizationDefaults.topK)); above the dictionary's PT count it is capped to that count, said once on stderr.")
    var topK: Int?
    @Option(help: "One mention.")
    var mention: String?
    @Option(help: "Input file (JSONL or plain text, one mention per line).")
    var input: String?
    @OptionGroup var inputEncoding: InputEncodingOption
    @Option(help: "Output: candidates (one object per mention) or pairs (pair JSONL, one line per candidate).")
    var emit: Emit = .candidates

    /// What `--emit` writes.
    enum Emit: String, CaseIterable, ExpressibleByArgument {
        case candidates
        case pairs
    }

    func validate() throws {
        if (mention == nil) == (input == nil) { throw ValidationError("give exactly one of --mention TEXT and --input FILE") }
        if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1 (got \(topK))") }
        if (try? SourceEncoding(name: encoding)) == nil { throw ValidationError("--encoding must be utf-8 or gb18030 (got \(encoding))") }
    }

    func run() throws {
        if let mention, mention.trimmingPythonWhitespace.isEmpty { throw RetrievalError.emptyMention }
        let path = try dictionary ?? DemoAssets.dictionary()
        let sourceEncoding = try SourceEncoding(name: encoding)
        var isDirectory: ObjCBool = false
        if sourceEncoding != .utf8, FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory),
           !isDirectory.boolValue {
            throw ValidationError("--encoding \(encoding) applies to MedDRA ASCII folders; a dictionary CSV is UTF-8")
        }
        let loaded = try CandidateDictionary.load(path: path, encoding: sourceEncoding)
        Self.describe(loaded)
        // The rule of the pipeline and the server (Normalization's TopK).
        let k: TopK
        do { k = try TopK.resolve(topK, dictionarySize: loaded.terms.count) } catch {
            throw CommandFailure("adrnorm retrieve: --top-k: \(error)")
        }
        if let note = k.capNote(name: "--top-k") { Stderr.write("adrnorm retrieve: \(note)\n") }

        let mentions: [MentionRecord]
        if let mention {
            mentions = [MentionRecord(id: "1", text: mention)]
        } else {
            let read = try MentionInput.read(path: input!, encoding: inputEncoding.encoding)
            mentions = read.lines.map(\.mention)
            Stderr.write("adrnorm retrieve: \(mentions.count) mention(s) from \(input!)"
                         + (read.blankLines > 0 ? " (\(read.blankLines) blank line(s) skipped)" : "") + "\n")
        }

        let retriever = CandidateRetriever(dictionary: loaded, template: template)
        let session = retriever.session()
        var out = BufferedStdout()
        for m in mentions {
            let hits = try session.retrieve(m.text, mode: mode, topK: k.effective)
            if emit == .pairs {
                for hit in hits {
                    let term = loaded.terms[hit.candidateIndex]
                    let label = m.hasGold ? (m.goldPTCodes.contains { $0.utf8.elementsEqual(term.ptCode.utf8) } ? 1 : 0) : nil
                    let record = PairRecord(mentionID: m.id, mention: m.text, candidate: term, goldPTCodes: m.goldPTCodes,
                                            goldSOCCodes: m.goldSOCCodes, label: label)
                    out.write(record.jsonLine())
                    out.write("\n")
                }
            } else {
                let candidates = hits.enumerated().map { rank, hit -> JSONValue in
                    let term = loaded.terms[hit.candidateIndex]
                    return .object([("rank", .integer(rank + 1)), ("pt_code", .string(term.ptCode)),
                                    ("pt_name", .string(term.ptName)), ("score", .number(hit.score)),
                                    ("retrieval_prob", .number(hit.probability))])
                }
                out.write(JSONValue.object([("mention_id", .string(m.id)), ("text", .string(m.text)),
                                            ("candidates", .array(candidates))]).text())
                out.write("\n")
            }
        }
        out.flush()
    }

    /// Dictionary facts and the load report, on stderr.
    static func describe(_ d: CandidateDictionary) {
        var line = "adrnorm retrieve: dictionary \(d.source) (\(d.format.rawValue)"
        if let v = d.medDRAVersion { line += ", version \(v)" }
        line += "): \(d.counts.pts) PTs, \(d.counts.llts) LLT aliases, \(d.counts.socs) SOCs, digest \(d.digest.prefix(16))\n"
        Stderr.write(line)
        for s in d.report.summary.dropFirst() { Stderr.write("adrnorm retrieve: \(s)\n") }
        for w in d.report.warnings { Stderr.write("warning: \(w)\n") }
    }
}
