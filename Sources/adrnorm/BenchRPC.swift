import ArgumentParser
import Foundation
import Normalization
import RPCClient
import RPCServer
import ServiceAdapter
import Wire

/// `adrnorm bench rpc`: Health round trips over mTLS on loopback, and a
/// 100-candidate Normalize on the real pipeline timed directly and over RPC,
/// so the network + framing + TLS share of a call shows.
struct BenchRPC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rpc",
        abstract: "Health calls/s and p50/p99 over mTLS; Normalize latency split into pipeline vs network+framing+TLS.")

    @OptionGroup var pipelineOptions: PipelineOptions
    @Option(help: "Development certificates (Certs/make-dev-certs output).")
    var certificates: String = "Certs/out"
    @Option(help: "Seconds per Health scenario.")
    var seconds: Int = 3
    @Option(name: .customLong("top-k"), help: "Candidates of the timed Normalize.")
    var topK: UInt32 = 100

    func run() async throws {
        let health = try await RPCBenchmark.run(certificates: certificates, duration: .seconds(seconds))
        for r in health {
            print(BenchPipeline.json([
                ("case", "\"health\""), ("scenario", JSONTextQuote(r.scenario.name)),
                ("calls_per_s", String(format: "%.0f", r.callsPerSecond)),
                ("p50_us", String(format: "%.1f", r.p50Microseconds)), ("p99_us", String(format: "%.1f", r.p99Microseconds)),
                ("failures", "\(r.failures)"),
            ]))
        }
        // No cache: every timed call runs the whole pipeline.
        let (pipeline, directory) = try pipelineOptions.makePipeline(command: "adrnorm bench rpc", configure: { $0.cacheCapacity = 0 })
        defer { pipeline.shutdown() }
        let service = PipelineService(pipeline: pipeline, description: .init(
            serverVersion: AdrnormVersion.current, modelName: directory ?? "", modelIsSynthetic: pipelineOptions.model == nil,
            dictionaryIsSynthetic: pipelineOptions.dictionary == nil))
        let split = try await RPCBenchmark.normalizeSplit(
            service: service, request: .init(id: "b", mention: "吃完药后一直犯困头晕", topK: topK), certificates: certificates)
        print(BenchPipeline.json([
            ("case", "\"normalize_split\""), ("top_k", "\(topK)"), ("calls", "\(split.calls)"),
            ("direct_p50_us", String(format: "%.0f", split.directP50Microseconds)),
            ("rpc_p50_us", String(format: "%.0f", split.rpcP50Microseconds)),
            ("network_framing_tls_us", String(format: "%.0f", split.overheadMicroseconds)),
            ("overhead_fraction", String(format: "%.4f", split.overheadFraction)),
        ]))
    }
}

private func JSONTextQuote(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
