import ArgumentParser
import Foundation
import Normalization
import Retrieval
import Terminology

/// `adrnorm normalize`: the whole pipeline over a file of mentions.
struct Normalize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the full pipeline (retrieve, score, threshold) over a file of mentions; writes prediction JSONL.",
        discussion: """
            --input takes pair/prediction JSONL (one mention per distinct mention_id; gold fields are copied \
            and label computed), JSONL with mention_id and text_a (or raw_term), or plain text, one mention per \
            line, in UTF-8 or, with --input-encoding gb18030, GB18030/GBK. --emit pairs (default) writes prediction JSONL (the schema of docs/PIPELINE.md §Data formats), one line per retrieved \
            candidate, with prob_1 and pred_label (prob_1 ≥ --threshold); it feeds `adrnorm evaluate`. \
            --emit mentions writes one line per mention in the mention-result schema of docs/PIPELINE.md \
            §Mention results (adrnorm.mention_result/1, the same as adrnorm call normalize and the Python CLI); --emit review \
            writes only the mentions flagged needs_review, in that shape. Each match carries the LLT to code it with \
            (llt: llt_code, llt_name, how) and its source; each mention result carries needs_review, review_reason and \
            the provenance needed to reproduce it. With --synonyms, a mention the list names is coded from the list \
            without scoring. Progress and the final report \
            go to stderr. A bad input line (one that does not decode included) or an invalid mention stops the run with \
            its file and line number, unless --on-error skip, which skips and reports it; a run in which every line was skipped fails (exit 1). \
            Settings are checked before any input is read: a bad flag fails at once, never line by line. \
            --top-k above the dictionary's PT count is capped to that count (every PT is a candidate), said \
            once on stderr.
            """)

    @OptionGroup var pipelineOptions: PipelineOptions

    @Option(help: "Input file ('-' for standard input).")
    var input: String
    @Option(help: "Output file (default: stdout).")
    var output: String?
    @Option(name: .customLong("top-k"),
            help: "Candidates retrieved and scored per mention (default \(NormalizationDefaults.topK)); above the dictionary's PT count it is capped to that count, said once on stderr.")
    var topK: Int?
    @Option(help: "Keep every PT whose probability is at least this, in [0, 1].")
    var threshold: Double = NormalizationDefaults.threshold
    @Option(help: "Candidate text template.")
    var template: CandidateTemplate = NormalizationDefaults.template
    @Option(help: "Retrieval mode.")
    var mode: RetrievalMode = .bm25
    @Option(help: "Scorer: model (the cross-encoder) or lexical (the retrieval-only baseline).")
    var scorer: ScorerKind?
    @Option(help: "Output rows: pairs (prediction JSONL, one per candidate), mentions (one per mention) or review (one per mention flagged needs_review).")
    var emit: Emit = .pairs
    @OptionGroup var inputEncoding: InputEncodingOption
    @Option(name: .customLong("on-error"),
            help: "On a bad input line (one that does not decode in --input-encoding included) or mention: stop, or skip it and report it.")
    var onError: MentionInput.ErrorPolicy = .stop

    /// What `--emit` writes.
    enum Emit: String, CaseIterable, ExpressibleByArgument {
        case pairs
        case mentions
        case review
    }
    @Option(name: .customLong("in-flight"), help: "Mentions in flight at once, so their pairs share scoring batches.")
    var inFlight: Int = 32

    func validate() throws {
        if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1 (got \(topK))") }
        guard threshold >= 0 && threshold <= 1 else { throw ValidationError("--threshold must be in [0, 1] (got \(threshold))") }
        guard inFlight >= 1 else { throw ValidationError("--in-flight must be at least 1") }
        if scorer == .model && pipelineOptions.noModel { throw ValidationError("--scorer model needs a model; drop --no-model") }
    }

    func run() throws {
        let (pipeline, _) = try pipelineOptions.makePipeline(command: "adrnorm normalize")
        defer { pipeline.shutdown() }
        let scorerKind = scorer ?? pipeline.defaultScorer
        let k = try checkSettings(pipeline, scorer: scorerKind)
        let precision = pipeline.model?.model.options.precision.rawValue ?? ""
        if let note = k.capNote(name: "--top-k") { Stderr.write("adrnorm normalize: \(note)\n") }

        let input = try MentionInput.read(path: self.input, encoding: inputEncoding.encoding, onError: onError)
        let sink = try OutputSink(path: output)

        let progress = ProgressReporter(label: "adrnorm normalize", total: input.lines.count)
        let window = DispatchSemaphore(value: inFlight)
        let results = OrderedResults<Result<NormalizationResult, NormalizationError>>()
        var next = 0
        var skipped = input.skipped
        var written = (mentions: 0, rows: 0, review: 0, synonym: 0)
        let started = ContinuousClock.now

        func drain(waitForAll: Bool) throws {
            while let (index, result) = results.takeNext(waiting: waitForAll && next < input.lines.count) {
                next = index + 1
                let line = input.lines[index]
                switch result {
                case .success(let r):
                    written.rows += write(r, for: line.mention, precision: precision, to: sink)
                    written.mentions += 1
                    if r.needsReview { written.review += 1 }
                    if r.matches.first?.source == .synonym { written.synonym += 1 }
                case .failure(let error):
                    let problem = MentionInputError(file: self.input, line: line.number, problem: "\(error)")
                    guard onError == .skip else { throw problem }
                    // Only the line's own problem (its mention) is skipped:
                    // anything else would fail every line alike.
                    guard case .invalidArgument(field: "mention", _) = error else {
                        throw CommandFailure("adrnorm normalize: \(problem); this is not a problem of the line, "
                                             + "so --on-error skip does not skip it: stopping")
                    }
                    skipped.append(problem)
                }
                progress.advance()
            }
        }

        for (index, line) in input.lines.enumerated() {
            window.wait()
            let request = NormalizationRequest(id: line.mention.id, mention: line.mention.text, topK: k.effective,
                                               threshold: threshold, template: template, mode: mode,
                                               scorer: scorerKind)
            pipeline.normalize(request) { result in
                results.put(index, result)
                window.signal()
            }
            try drain(waitForAll: false)
        }
        try drain(waitForAll: true)
        try sink.close()
        progress.finish()

        let seconds = Double((ContinuousClock.now - started).components.attoseconds) / 1e18
            + Double((ContinuousClock.now - started).components.seconds)
        let cache = pipeline.cacheStatistics
        Stderr.write("adrnorm normalize: \(written.mentions) mention(s) normalized, \(written.rows) row(s) written, "
                     + String(format: "%.1f mentions/s", Double(written.mentions) / max(seconds, 1e-9))
                     + ", scorer \(scorerKind.rawValue), cache \(cache.hits) hit(s) / \(cache.misses) miss(es)"
                     + ", \(written.review) flagged needs_review"
                     + (pipelineOptions.synonyms == nil ? "" : ", \(written.synonym) coded from the synonym list") + "\n")
        if input.blankLines > 0 { Stderr.write("adrnorm normalize: \(input.blankLines) blank line(s) ignored\n") }
        if !skipped.isEmpty {
            Stderr.write("adrnorm normalize: \(skipped.count) line(s) skipped (--on-error skip):\n")
            for s in skipped.prefix(50) { Stderr.write("  \(s)\n") }
            if skipped.count > 50 { Stderr.write("  … and \(skipped.count - 50) more\n") }
        }
        // Skipping must not turn a run that produced nothing into success.
        if written.mentions == 0 && !skipped.isEmpty {
            throw CommandFailure("adrnorm normalize: nothing was written: every one of the \(skipped.count) mention line(s) of "
                                 + "\(self.input) was skipped (--on-error skip; first reported: \(skipped[0].description)); "
                                 + "fix the input (or run with --on-error stop to stop at the first bad line)")
        }
    }

    /// Checks the settings against the loaded pipeline before any input is
    /// read, so a bad flag fails at once instead of failing (or, under
    /// --on-error skip, being skipped) on every line. Returns `top_k` as the
    /// pipeline applies it.
    private func checkSettings(_ pipeline: NormalizationPipeline, scorer: ScorerKind) throws -> TopK {
        let settings = NormalizationRequest(mention: "", topK: topK, threshold: threshold,
                                            template: template, mode: mode, scorer: scorer)
        let k: TopK
        do {
            try pipeline.validateSettings(of: settings)
            k = try pipeline.resolveTopK(topK)
        } catch {
            let flag: String = switch error {
            case .invalidArgument(field: "top_k", _): "--top-k"
            case .invalidArgument(field: "threshold", _): "--threshold"
            case .failedPrecondition: "--scorer"
            default: "settings"
            }
            throw CommandFailure("adrnorm normalize: \(flag): \(error)")
        }
        // One mention's pairs must fit the scoring queue, and so must the
        // pairs of every mention in flight, or mentions are refused as overloaded.
        let queued = pipelineOptions.maxQueuedPairs
        if scorer == .model && inFlight * k.effective > queued {
            let most = queued / k.effective
            throw CommandFailure("adrnorm normalize: --in-flight \(inFlight) mentions × \(k.effective) candidates = "
                                 + "\(inFlight * k.effective) pairs may wait for scoring at once, above --max-queued-pairs "
                                 + "\(queued): " + (most >= 1 ? "lower --in-flight to at most \(most), or " : "")
                                 + "raise --max-queued-pairs to at least \(inFlight * k.effective)"
                                 + (most >= 1 ? "" : ", or lower --top-k"))
        }
        return k
    }

    /// Writes one mention's rows; returns how many.
    private func write(_ r: NormalizationResult, for mention: MentionRecord, precision: String, to sink: OutputSink) -> Int {
        if emit == .review && !r.needsReview { return 0 }
        if emit == .mentions || emit == .review {
            var result = MentionResultJSON(r, precision: precision)
            if mention.hasGold { result.gold = (mention.goldPTCodes, mention.goldSOCCodes) }
            sink.write(result.line() + "\n")
            return 1
        }
        for c in r.candidates {
            let label = mention.hasGold ? (mention.goldPTCodes.contains { $0.utf8.elementsEqual(c.term.ptCode.utf8) } ? 1 : 0) : nil
            var prediction = PairRecord.Prediction(prob1: c.probability, predLabel: c.probability >= r.threshold ? 1 : 0)
            prediction.llt = r.matches.first { $0.candidateIndex == c.candidateIndex }?.llt
            if let score = c.score {
                prediction.logit0 = Double(score.notMatchLogit)
                prediction.logit1 = Double(score.matchLogit)
                prediction.prob0 = Double(score.notMatchProbability)
            }
            let record = PairRecord(mentionID: mention.id, mention: mention.text, candidate: c.term,
                                    goldPTCodes: mention.goldPTCodes, goldSOCCodes: mention.goldSOCCodes,
                                    label: label, prediction: prediction)
            sink.write(record.jsonLine() + "\n")
        }
        return r.candidates.count
    }
}
