// adrnorm-rpc-bench: Health round trips/s and p50/p99 latency over mutual TLS
// on loopback (server and clients in this process).
//   adrnorm-rpc-bench [CERT_DIR] [SECONDS]     (CERT_DIR from Certs/make-dev-certs; default Certs/out)
import Foundation
import RPC

let arguments = CommandLine.arguments.dropFirst()
let certificates = arguments.first ?? "Certs/out"
let seconds = arguments.dropFirst().first.flatMap(Int.init) ?? 3
guard FileManager.default.fileExists(atPath: (certificates as NSString).appendingPathComponent("server.pem")) else {
    FileHandle.standardError.write(Data("adrnorm-rpc-bench: no certificates in \(certificates); run Certs/make-dev-certs \(certificates)\n".utf8))
    exit(2)
}
do {
    let results = try await RPCBenchmark.run(certificates: certificates, duration: .seconds(seconds))
    print("Health over mTLS on loopback, \(seconds) s per scenario, \(ProcessInfo.processInfo.activeProcessorCount) cores shared by client and server")
    for r in results {
        print(String(format: "%-48@ %9.0f calls/s   p50 %7.1f µs   p99 %7.1f µs   failures %d",
                     r.scenario.name as NSString, r.callsPerSecond, r.p50Microseconds, r.p99Microseconds, r.failures))
    }
    // Until the pipeline exists, a stand-in that spends `work` of CPU per
    // Normalize shows the split; `adrnorm bench rpc` passes the real service.
    for work in [Duration.milliseconds(1), .milliseconds(10)] {
        let split = try await RPCBenchmark.normalizeSplit(service: BusyNormalizer(work: work),
                                                          request: .init(id: "b", mention: "吃完药后头晕"),
                                                          certificates: certificates)
        print(String(format: "Normalize stand-in of %@: direct p50 %.0f µs, over RPC p50 %.0f µs, overhead %.0f µs (%.1f%%)",
                     "\(work)" as NSString, split.directP50Microseconds, split.rpcP50Microseconds,
                     split.overheadMicroseconds, split.overheadFraction * 100))
    }
} catch {
    FileHandle.standardError.write(Data("adrnorm-rpc-bench: \(error)\n".utf8))
    exit(1)
}

/// Spins for `work` per Normalize; the other methods are not used here.
struct BusyNormalizer: NormalizerService {
    let work: Duration
    func normalize(_ request: AdrnormV1.NormalizeRequest, context: CallContext) throws(ServiceError) -> AdrnormV1.NormalizeResponse {
        let end = ContinuousClock.now + work
        var x = 0.0
        while ContinuousClock.now < end { for i in 0..<1000 { x += Double(i).squareRoot() } }
        return .init(id: request.id, matches: [.init(term: .init(ptCode: "10019211", ptName: "头痛"), probability: x > 0 ? 0.9 : 0.8)])
    }
    func retrieve(_ request: AdrnormV1.RetrieveRequest, context: CallContext) throws(ServiceError) -> AdrnormV1.RetrieveResponse {
        throw ServiceError(.unimplemented, "not part of this benchmark")
    }
    func score(_ request: AdrnormV1.ScoreRequest, context: CallContext) throws(ServiceError) -> AdrnormV1.ScoreResponse {
        throw ServiceError(.unimplemented, "not part of this benchmark")
    }
    func info(_ request: AdrnormV1.InfoRequest, context: CallContext) throws(ServiceError) -> AdrnormV1.InfoResponse {
        throw ServiceError(.unimplemented, "not part of this benchmark")
    }
    func health(_ request: AdrnormV1.HealthRequest, context: CallContext) throws(ServiceError) -> AdrnormV1.HealthResponse {
        .init(status: .serving)
    }
}
