import ArgumentParser
import Foundation
import Retrieval
import Terminology

/// `adrnorm bench NAME`: benchmarks that print their figures (JSON on
/// stdout); the scripts in Scripts/ run them next to their baselines.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a benchmark and print its figures next to a baseline measured in the same run.",
        discussion: """
            retrieval: BM25 index build, memory and query latency (Scripts/bench-retrieval adds the Python \
            baseline). encoder: BERT forward pairs/s and GFLOPS next to sgemm and the int8 GEMM rate \
            (Scripts/bench-encoder adds PyTorch, ONNX Runtime and OpenVINO). pooled: a checkpoint's pooled \
            outputs in fp32 or int8 (Scripts/check-int8-accuracy compares them with transformers). pipeline: full-pipeline vs encoder-only pairs/s, and the cache on a Zipf stream.
            """,
        subcommands: [BenchRetrieval.self, BenchEncoderCommand.self, BenchPooled.self, BenchPipeline.self, BenchRPC.self, BenchStream.self])
}

/// `adrnorm bench encoder`: options parsed by BenchEncoderOptions.
struct BenchEncoderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encoder",
        abstract: "BERT forward pairs/s on fixed- and mixed-length batches, GFLOPS next to a cblas_sgemm figure.")
    @OptionGroup var options: BenchEncoderOptions
    func run() throws { try BenchEncoder.run(options) }
}

/// `adrnorm bench retrieval`.
struct BenchRetrieval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retrieval",
        abstract: "BM25 index build time, memory, and top-k query latency and queries/s, as JSON.",
        discussion: """
            Loads --dictionary, builds the BM25 index, runs every line of --queries (plain text) --repeat \
            times with --top-k, and prints load/build time, index and process memory (RSS), and p50/p99 \
            latency and queries/s as JSON.
            """)
    @Option(help: "Dictionary CSV or MedDRA ASCII folder (default: the demo dictionary).")
    var dictionary: String?
    @Option(help: "Plain-text queries, one per line.")
    var queries: String
    @Option(help: "Candidate text template.")
    var template: String = "full"
    @Option(name: .customLong("top-k"), help: "Candidates per query.")
    var topK: Int = 100
    @Option(help: "Passes over the queries (the first also warms up and is not timed).")
    var `repeat`: Int = 3
    @Option(help: "Write the rankings of the first pass here (JSONL: mention, top [[index, score]]).")
    var results: String?

    func run() throws { try retrieval() }

    private func retrieval() throws {
        let queriesPath = queries
        guard let chosen = CandidateTemplate(rawValue: template) else { throw ValidationError("unknown --template \(template)") }
        let path = try dictionary ?? DemoAssets.dictionary()
        let rssBefore = ProcessMemory.residentBytes()
        let t0 = DispatchTime.now().uptimeNanoseconds
        let loaded = try CandidateDictionary.load(path: path)
        let t1 = DispatchTime.now().uptimeNanoseconds
        let retriever = CandidateRetriever(dictionary: loaded, template: chosen)
        let t2 = DispatchTime.now().uptimeNanoseconds
        let rssAfter = ProcessMemory.residentBytes()
        let text = try String(contentsOfFile: queriesPath, encoding: .utf8)
        let lines = text.split(separator: "\n").map(String.init).filter { !$0.trimmingPythonWhitespace.isEmpty }
        let session = retriever.session()
        var latencies: [UInt64] = []
        latencies.reserveCapacity(lines.count * max(1, self.repeat))
        var checksum = 0.0
        var resultLines: [String] = []
        for pass in 0..<max(2, self.repeat + 1) {
            for q in lines {
                let start = DispatchTime.now().uptimeNanoseconds
                let hits = try session.retrieve(q, topK: topK)
                let elapsed = DispatchTime.now().uptimeNanoseconds - start
                if pass == 0 {
                    checksum += hits[0].score
                    if results != nil {
                        resultLines.append("{\"mention\": \(JSONText.quote(q)), \"top\": ["
                            + hits.map { "[\($0.candidateIndex), \(JSONText.number($0.score))]" }.joined(separator: ", ") + "]}")
                    }
                } else {
                    latencies.append(elapsed)
                }
            }
        }
        if let results { try (resultLines.joined(separator: "\n") + "\n").write(toFile: results, atomically: true, encoding: .utf8) }
        latencies.sort()
        let total = latencies.reduce(0, +)
        func ms(_ ns: UInt64) -> Double { Double(ns) / 1e6 }
        let figures: [(String, String)] = [
            ("implementation", "\"adrnorm BM25Index\""),
            ("dictionary", JSONText.quote(path)),
            ("pts", "\(loaded.counts.pts)"), ("llts", "\(loaded.counts.llts)"),
            ("terms", "\(retriever.bm25.termCount)"),
            ("load_s", "\(Double(t1 - t0) / 1e9)"), ("build_s", "\(Double(t2 - t1) / 1e9)"),
            ("index_mb", "\(Double(retriever.bm25.memoryBytes) / 1_048_576)"),
            ("rss_mb", "\(Double(rssAfter) / 1_048_576)"),
            ("rss_growth_mb", "\(Double(rssAfter - rssBefore) / 1_048_576)"),
            ("queries", "\(lines.count)"), ("timed_queries", "\(latencies.count)"), ("top_k", "\(topK)"),
            ("p50_ms", "\(ms(latencies[latencies.count / 2]))"),
            ("p99_ms", "\(ms(latencies[min(latencies.count - 1, latencies.count * 99 / 100)]))"),
            ("max_ms", "\(ms(latencies.last!))"),
            ("mean_ms", "\(ms(total) / Double(latencies.count))"),
            ("qps", "\(Double(latencies.count) / (Double(total) / 1e9))"),
            ("checksum", "\(checksum)"),
        ]
        print("{" + figures.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
    }
}
