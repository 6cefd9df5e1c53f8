import ArgumentParser
import Foundation
import Retrieval
import Terminology

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
    var template: CandidateTemplate = .full
    @Option(name: .customLong("top-k"), help: "Candidates per query.")
    var topK: Int = 100
    @Option(help: "Passes over the queries (the first also warms up and is not timed).")
    var `repeat`: Int = 3
    @Option(help: "Write the rankings of the first pass here (JSONL: mention, top [[index, score]]).")
    var results: String?

    func run() throws { try retrieval() }

    private func retrieval() throws {
        let queriesPath = queries
        let path = try dictionary ?? DemoAssets.dictionary()
        let rssBefore = ProcessMemory.residentBytes()
        let t0 = DispatchTime.now().uptimeNanoseconds
        let loaded = try CandidateDictionary.load(path: path)
        let t1 = DispatchTime.now().uptimeNanoseconds
        let retriever = CandidateRetriever(dictionary: loaded, template: template)
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
                        let top = hits.map { JSONValue.array([.integer($0.candidateIndex), .number($0.score)]) }
                        resultLines.append(JSONValue.object([("mention", .string(q)), ("top", .array(top))]).text())
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
        let figures: JSONValue = .object([
            ("implementation", .string("adrnorm BM25Index")),
            ("dictionary", .string(path)),
            ("pts", .integer(loaded.counts.pts)), ("llts", .integer(loaded.counts.llts)),
            ("terms", .integer(retriever.bm25.termCount)),
            ("load_s", .number(Double(t1 - t0) / 1e9)), ("build_s", .number(Double(t2 - t1) / 1e9)),
            ("index_mb", .number(Double(retriever.bm25.memoryBytes) / 1_048_576)),
            ("rss_mb", .number(Double(rssAfter) / 1_048_576)),
            ("rss_growth_mb", .number(Double(rssAfter - rssBefore) / 1_048_576)),
            ("queries", .integer(lines.count)), ("timed_queries", .integer(latencies.count)), ("top_k", .integer(topK)),
            ("p50_ms", .number(ms(latencies[latencies.count / 2]))),
            ("p99_ms", .number(ms(latencies[min(latencies.count - 1, latencies.count * 99 / 100)]))),
            ("max_ms", .number(ms(latencies.last!))),
            ("mean_ms", .number(ms(total) / Double(latencies.count))),
            ("qps", .number(Double(latencies.count) / (Double(total) / 1e9))),
            ("checksum", .number(checksum)),
        ])
        print(figures.text())
    }
}
