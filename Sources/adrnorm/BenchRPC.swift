import ArgumentParser
import Foundation
import Normalization
import RPCClient
import RPCServer
import ServiceAdapter
import Terminology
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
            print(JSONValue.object([
                ("case", .string("health")), ("scenario", .string(r.scenario.name)),
                ("calls_per_s", .number(r.callsPerSecond, format: "%.0f")),
                ("p50_us", .number(r.p50Microseconds, format: "%.1f")), ("p99_us", .number(r.p99Microseconds, format: "%.1f")),
                ("cpu_us_per_call", .number(r.cpuMicrosecondsPerCall, format: "%.1f")),
                ("failures", .integer(r.failures)),
            ]).text())
        }
        // No cache: every timed call runs the whole pipeline.
        let (pipeline, directory) = try pipelineOptions.makePipeline(command: "adrnorm bench rpc", configure: { $0.cacheCapacity = 0 })
        defer { pipeline.shutdown() }
        let service = PipelineService(pipeline: pipeline, description: .init(
            serverVersion: AdrnormVersion.current, modelName: directory ?? "", modelIsSynthetic: pipelineOptions.model == nil,
            dictionaryIsSynthetic: pipelineOptions.dictionary == nil))
        let split = try await RPCBenchmark.normalizeSplit(
            service: service, request: .init(id: "b", mention: "吃完药后一直犯困头晕", topK: topK), certificates: certificates)
        print(JSONValue.object([
            ("case", .string("normalize_split")), ("top_k", .integer(Int(topK))), ("calls", .integer(split.calls)),
            ("direct_p50_us", .number(split.directP50Microseconds, format: "%.0f")),
            ("rpc_p50_us", .number(split.rpcP50Microseconds, format: "%.0f")),
            ("network_framing_tls_us", .number(split.overheadMicroseconds, format: "%.0f")),
            ("overhead_fraction", .number(split.overheadFraction, format: "%.4f")),
        ]).text())
    }
}
