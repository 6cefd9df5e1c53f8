import ArgumentParser
import CrossEncoder
import Foundation
import Normalization
import Retrieval
import Terminology

/// `adrnorm bench pipeline`: full-pipeline throughput next to the encoder's
/// pure pair throughput on the same pairs in the same run (the pipeline's
/// overhead), and the cache's speed-up on a Zipf-distributed mention stream.
/// Prints JSON lines on stdout.
struct BenchPipeline: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Pipeline mentions/s vs the encoder's pairs/s on the same pairs, and the cache on a Zipf stream.")

    @OptionGroup var pipelineOptions: PipelineOptions
    @Option(help: "Distinct synthetic mentions for the throughput case.")
    var mentions: Int = 300
    @Option(name: .customLong("top-k"), help: "Candidates per mention.")
    var topK: Int = 100
    @Option(name: .customLong("in-flight"), help: "Mentions in flight at once.")
    var inFlight: Int = 32
    @Option(name: .customLong("zipf-length"), help: "Mentions in the Zipf stream (0 skips the cache case).")
    var zipfLength: Int = 100_000
    @Option(name: .customLong("zipf-distinct"), help: "Distinct mentions the Zipf stream draws from.")
    var zipfDistinct: Int = 5_000
    @Option(name: .customLong("zipf-s"), help: "Zipf exponent.")
    var zipfS: Double = 1.1
    @Option(name: .customLong("uncached-sample"), help: "Stream prefix run without the cache, for the baseline rate.")
    var uncachedSample: Int = 500

    func run() throws {
        var (pipeline, _) = try pipelineOptions.makePipeline(command: "adrnorm bench pipeline", configure: { $0.cacheCapacity = 0 })
        guard let model = pipeline.model else { throw ValidationError("bench pipeline needs a model") }
        let texts = Self.syntheticMentions(pipeline.dictionary, count: max(mentions, zipfDistinct))

        // 1. Full pipeline, no cache.
        let sample = Array(texts.prefix(mentions))
        let (pipelineSeconds, pairs) = try Self.runStream(pipeline, sample, topK: topK, inFlight: inFlight,
                                                          label: "bench pipeline: pipeline")
        let stats = pipeline.schedulerStatistics!

        // 2. The encoder alone on the same pairs, batched the same way.
        var encodings: [PairEncoding] = []
        for text in sample {
            for hit in try pipeline.retrieve(text, topK: topK) {
                encodings.append(try model.tokenizer.encode(text, pipeline.candidateText(candidateIndex: hit.candidateIndex,
                                                                                         template: .full),
                                                            maxLength: model.maxLength))
            }
        }
        let batches = Self.batches(encodings, maxTokens: pipelineOptions.maxBatchTokens)
        let encoderStart = ContinuousClock.now
        let encoderProgress = ProgressReporter(label: "bench pipeline: encoder alone (batches)", total: batches.count)
        for batch in batches {
            _ = try model.model.forward(PackedBatch(batch))
            encoderProgress.advance()
        }
        encoderProgress.finish()
        let encoderSeconds = Self.seconds(ContinuousClock.now - encoderStart)
        let pipelinePairsPerSecond = Double(pairs) / pipelineSeconds
        let encoderPairsPerSecond = Double(encodings.count) / encoderSeconds
        Self.emit(.object([
            ("case", .string("throughput")), ("mentions", .integer(sample.count)), ("top_k", .integer(topK)),
            ("pairs", .integer(pairs)), ("max_batch_tokens", .integer(pipelineOptions.maxBatchTokens)),
            ("threads", .integer(pipelineOptions.threads)),
            ("mean_batch_pairs", .number(Double(stats.pairs) / Double(max(1, stats.batches)), format: "%.1f")),
            ("pipeline_mentions_per_s", .number(Double(sample.count) / pipelineSeconds, format: "%.2f")),
            ("pipeline_pairs_per_s", .number(pipelinePairsPerSecond, format: "%.1f")),
            ("encoder_pairs_per_s", .number(encoderPairsPerSecond, format: "%.1f")),
            ("pipeline_overhead", .number(1 - pipelinePairsPerSecond / encoderPairsPerSecond, format: "%.4f")),
        ]))
        pipeline.shutdown()

        // 3. Zipf stream: uncached rate on a prefix, cached rate on the whole.
        guard zipfLength > 0 else { return }
        let stream = Self.zipfStream(length: zipfLength, distinct: zipfDistinct, s: zipfS).map { texts[$0] }
        (pipeline, _) = try pipelineOptions.makePipeline(command: "adrnorm bench pipeline", configure: { $0.cacheCapacity = 0 })
        let prefix = Array(stream.prefix(uncachedSample))
        let (uncachedSeconds, _) = try Self.runStream(pipeline, prefix, topK: topK, inFlight: inFlight,
                                                      label: "bench pipeline: Zipf prefix, cache off")
        pipeline.shutdown()
        (pipeline, _) = try pipelineOptions.makePipeline(command: "adrnorm bench pipeline", configure: {
            $0.cacheCapacity = max(zipfDistinct, 1)
        })
        let (cachedSeconds, _) = try Self.runStream(pipeline, stream, topK: topK, inFlight: inFlight,
                                                    label: "bench pipeline: Zipf stream, cache on")
        let cache = pipeline.cacheStatistics
        pipeline.shutdown()
        let uncachedRate = Double(prefix.count) / uncachedSeconds
        let cachedRate = Double(stream.count) / cachedSeconds
        Self.emit(.object([
            ("case", .string("zipf_cache")), ("stream", .integer(stream.count)), ("distinct", .integer(zipfDistinct)),
            ("distinct_seen", .integer(Set(stream).count)), ("s", .number(zipfS)),
            ("uncached_sample", .integer(prefix.count)),
            ("uncached_mentions_per_s", .number(uncachedRate, format: "%.2f")),
            ("cached_mentions_per_s", .number(cachedRate, format: "%.2f")),
            ("cache_hits", .integer(Int(cache.hits))), ("cache_misses", .integer(Int(cache.misses))),
            ("speedup", .number(cachedRate / uncachedRate, format: "%.1f")),
        ]))
    }

    /// One figure line on stdout, flushed at once: a benchmark piped into a
    /// file or `tee` shows each case as it ends, not all at exit.
    static func emit(_ figures: JSONValue) {
        FileHandle.standardOutput.write(Data((figures.text() + "\n").utf8))
    }

    /// Normalizes `mentions` with `inFlight` outstanding; returns seconds and
    /// pairs scored. Progress goes to stderr under `label`.
    static func runStream(_ pipeline: NormalizationPipeline, _ mentions: [String], topK: Int, inFlight: Int,
                          label: String) throws -> (Double, Int)
    {
        let progress = ProgressReporter(label: label, total: mentions.count)
        defer { progress.finish() }
        let window = DispatchSemaphore(value: inFlight)
        let group = DispatchGroup()
        let failures = OrderedResults<String>()
        let counter = PairCounter()
        let start = ContinuousClock.now
        for (i, text) in mentions.enumerated() {
            window.wait()
            // A free slot means one more mention has finished.
            if i >= inFlight { progress.advance() }
            group.enter()
            pipeline.normalize(.init(id: String(i), mention: text, topK: topK)) { result in
                switch result {
                case .success(let r): counter.add(r.cached ? 0 : r.candidates.count)
                case .failure(let e): failures.put(0, "\(e)")
                }
                window.signal()
                group.leave()
            }
        }
        group.wait()
        progress.advance(by: min(inFlight, mentions.count))
        if let (_, message) = failures.takeNext(waiting: false) { throw ValidationError("bench: a mention failed: \(message)") }
        return (seconds(ContinuousClock.now - start), counter.total)
    }

    static func batches(_ encodings: [PairEncoding], maxTokens: Int) -> [[PairEncoding]] {
        var out: [[PairEncoding]] = [[]]
        var tokens = 0
        for e in encodings {
            if tokens + e.count > maxTokens && !out[out.count - 1].isEmpty {
                out.append([])
                tokens = 0
            }
            out[out.count - 1].append(e)
            tokens += e.count
        }
        return out
    }

    /// Reporter-style mentions: a context phrase around one or two aliases.
    static func syntheticMentions(_ dictionary: CandidateDictionary, count: Int) -> [String] {
        let names = dictionary.terms.flatMap { [$0.ptName] + $0.lltNames }
        let contexts = ["用药后", "吃完药后", "服药第二天", "输液时", "", "打针后", "停药后仍", "近两天"]
        let tails = ["", "，持续不缓解", "伴", "明显", "，休息后好转", "加重"]
        var out: [String] = []
        var seen = Set<String>()
        var i = 0
        while out.count < count {
            let a = names[(i * 7919) % names.count]
            let b = i % 3 == 0 ? "，" + names[(i * 104_729 + 13) % names.count] : ""
            let text = contexts[i % contexts.count] + a + b + tails[(i / contexts.count) % tails.count]
            if seen.insert(text).inserted { out.append(text) }
            i += 1
        }
        return out
    }

    /// Seeded Zipf(s) draws over ranks 0..<distinct.
    static func zipfStream(length: Int, distinct: Int, s: Double) -> [Int] {
        var cumulative: [Double] = []
        var total = 0.0
        for k in 1...distinct { total += 1 / pow(Double(k), s); cumulative.append(total) }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<length).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let u = Double(state >> 11) / Double(1 << 53) * total
            var lo = 0, hi = distinct - 1
            while lo < hi {
                let mid = (lo + hi) / 2
                if cumulative[mid] < u { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
