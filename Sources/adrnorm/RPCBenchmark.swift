import Foundation
import Cancellation
import Logging
import RPCClient
import RPCServer
import Transport
import Wire

/// Measures Health round trips over mutual TLS on loopback: an `RPCServer`
/// with a trivial service and `RPCClient`s in the same process, so the
/// figures include both ends' framing, TLS and queue hops (and share the
/// CPU). Used by `adrnorm bench rpc`.
public enum RPCBenchmark {
    /// One measured configuration.
    public struct Scenario: Sendable {
        public var connections: Int
        public var streamsPerConnection: Int
        public init(connections: Int, streamsPerConnection: Int) {
            self.connections = connections
            self.streamsPerConnection = streamsPerConnection
        }
        public var name: String { "\(connections) connection(s) x \(streamsPerConnection) concurrent stream(s)" }
    }

    public struct Result: Sendable {
        public let scenario: Scenario
        public let calls: Int
        public let seconds: Double
        public let p50Microseconds: Double
        public let p99Microseconds: Double
        public let failures: Int
        /// Process CPU time (user + system, client and server together) per
        /// call: steadier than calls/s on a shared machine.
        public let cpuMicrosecondsPerCall: Double
        public var callsPerSecond: Double { Double(calls) / seconds }
    }

    public static let defaultScenarios = [
        Scenario(connections: 1, streamsPerConnection: 1),
        Scenario(connections: 1, streamsPerConnection: 16),
        Scenario(connections: 8, streamsPerConnection: 2),
        Scenario(connections: 8, streamsPerConnection: 16),
    ]

    /// Runs each scenario for `duration` after a short warm-up. `certificates`
    /// is a folder made by Certs/make-dev-certs.
    public static func run(certificates: String, scenarios: [Scenario] = defaultScenarios,
                           duration: Duration = .seconds(3)) async throws(RPCError) -> [Result] {
        func path(_ name: String) -> String { (certificates as NSString).appendingPathComponent(name) }
        var logger = Logger(label: "adrnorm.rpc.bench")
        logger.logLevel = .error
        let configuration = ServerConfiguration(
            listenAddress: "127.0.0.1:0",
            tls: .init(certificateChainPath: path("server.pem"), privateKeyPath: path("server.key"),
                       clientCAPath: path("ca.pem")),
            maxConcurrentStreams: 64)
        let server = try RPCServer(configuration: configuration, service: HealthOnlyService(), logger: logger)
        try server.start()
        let tls = TLSClientConfiguration(trustedCAPath: path("ca.pem"), certificateChainPath: path("client-a.pem"),
                                         privateKeyPath: path("client-a.key"))
        var results: [Result] = []
        for scenario in scenarios {
            var clients: [RPCClient] = []
            for _ in 0..<scenario.connections {
                clients.append(try await RPCClient.connect(.init(address: "127.0.0.1:\(server.port)", tls: tls)))
            }
            _ = await measure(clients, scenario.streamsPerConnection, .milliseconds(500))
            let cpuBefore = processCPUMicroseconds()
            let (latencies, failures, seconds) = await measure(clients, scenario.streamsPerConnection, duration)
            let cpu = processCPUMicroseconds() - cpuBefore
            let sorted = latencies.sorted()
            func percentile(_ p: Double) -> Double {
                sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
            }
            results.append(Result(scenario: scenario, calls: sorted.count, seconds: seconds,
                                  p50Microseconds: percentile(0.50), p99Microseconds: percentile(0.99),
                                  failures: failures,
                                  cpuMicrosecondsPerCall: latencies.isEmpty ? 0 : cpu / Double(latencies.count)))
            for client in clients { client.close() }
        }
        await server.shutdown(drainTimeout: .seconds(5))
        return results
    }

    /// Where a Normalize call's time goes: the service called directly
    /// versus the same request over mTLS on loopback, one call at a time.
    public struct NormalizeSplit: Sendable {
        public let calls: Int
        public let directP50Microseconds: Double
        public let rpcP50Microseconds: Double
        /// Network, framing, TLS and queue hops: the difference of the medians.
        public var overheadMicroseconds: Double { rpcP50Microseconds - directP50Microseconds }
        /// The overhead as a fraction of the RPC call's median (the issue's
        /// target: at most 0.05 for a 100-candidate demo Normalize).
        public var overheadFraction: Double { rpcP50Microseconds > 0 ? overheadMicroseconds / rpcP50Microseconds : 0 }
    }

    /// Measures `NormalizeSplit` for `request` on `service` (the real
    /// pipeline when `adrnorm bench rpc` calls it), alternating direct and
    /// RPC calls so both see the same machine load.
    public static func normalizeSplit(service: any NormalizerService, request: AdrnormV1.NormalizeRequest,
                                      certificates: String, calls: Int = 200) async throws(RPCError) -> NormalizeSplit {
        func path(_ name: String) -> String { (certificates as NSString).appendingPathComponent(name) }
        var logger = Logger(label: "adrnorm.rpc.bench")
        logger.logLevel = .error
        let configuration = ServerConfiguration(
            listenAddress: "127.0.0.1:0",
            tls: .init(certificateChainPath: path("server.pem"), privateKeyPath: path("server.key"),
                       clientCAPath: path("ca.pem")))
        let server = try RPCServer(configuration: configuration, service: service, logger: logger)
        try server.start()
        let client = try await RPCClient.connect(.init(
            address: "127.0.0.1:\(server.port)",
            tls: .init(trustedCAPath: path("ca.pem"), certificateChainPath: path("client-a.pem"),
                       privateKeyPath: path("client-a.key"))))
        let context = CallContext(method: NormalizerMethod.normalize.rawValue, streamID: StreamID(1), peer: nil,
                                  metadata: [:], deadline: nil, cancellation: CancellationToken())
        func micros(_ d: Duration) -> Double { Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12 }
        var direct: [Double] = [], rpc: [Double] = []
        for i in 0..<(calls + 5) {
            let t0 = ContinuousClock.now
            do { _ = try await service.normalize(request, context: context) } catch {
                throw .status(error.code, message: "the service failed the benchmark request: \(error.message)")
            }
            let t1 = ContinuousClock.now
            _ = try await client.normalize(request)
            let t2 = ContinuousClock.now
            if i >= 5 {  // warm-up
                direct.append(micros(t1 - t0))
                rpc.append(micros(t2 - t1))
            }
        }
        client.close()
        await server.shutdown(drainTimeout: .seconds(5))
        direct.sort(); rpc.sort()
        return NormalizeSplit(calls: calls, directP50Microseconds: direct[direct.count / 2],
                              rpcP50Microseconds: rpc[rpc.count / 2])
    }

    /// User + system CPU time of this process so far, in µs.
    private static func processCPUMicroseconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) * 1e6 + Double(t.tv_nsec) / 1e3
    }

    /// Latencies in µs of every successful call, failures, elapsed seconds.
    private static func measure(_ clients: [RPCClient], _ streams: Int, _ duration: Duration)
        async -> ([Double], Int, Double) {
        let start = ContinuousClock.now
        let end = start + duration
        let outcomes = await withTaskGroup(of: ([Double], Int).self) { group in
            for client in clients {
                for _ in 0..<streams {
                    group.addTask {
                        var latencies: [Double] = []
                        var failures = 0
                        while ContinuousClock.now < end {
                            let t0 = ContinuousClock.now
                            do {
                                _ = try await client.health()
                                let d = (ContinuousClock.now - t0).components
                                latencies.append(Double(d.seconds) * 1e6 + Double(d.attoseconds) / 1e12)
                            } catch {
                                failures += 1
                            }
                        }
                        return (latencies, failures)
                    }
                }
            }
            var all: [Double] = []
            var failures = 0
            for await (latencies, failed) in group {
                all += latencies
                failures += failed
            }
            return (all, failures)
        }
        let elapsed = (ContinuousClock.now - start).components
        return (outcomes.0, outcomes.1, Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18)
    }
}

/// Answers Health; the other methods are UNIMPLEMENTED (benchmark only).
private struct HealthOnlyService: NormalizerService {
    func retrieve(_ request: AdrnormV1.RetrieveRequest, context: CallContext) async throws(ServiceError) -> AdrnormV1.RetrieveResponse {
        throw ServiceError(.unimplemented, "the benchmark service answers Health only")
    }
    func score(_ request: AdrnormV1.ScoreRequest, context: CallContext) async throws(ServiceError) -> AdrnormV1.ScoreResponse {
        throw ServiceError(.unimplemented, "the benchmark service answers Health only")
    }
    func normalize(_ request: AdrnormV1.NormalizeRequest, context: CallContext) async throws(ServiceError) -> AdrnormV1.NormalizeResponse {
        throw ServiceError(.unimplemented, "the benchmark service answers Health only")
    }
    func info(_ request: AdrnormV1.InfoRequest, context: CallContext) async throws(ServiceError) -> AdrnormV1.InfoResponse {
        throw ServiceError(.unimplemented, "the benchmark service answers Health only")
    }
    func health(_ request: AdrnormV1.HealthRequest, context: CallContext) async throws(ServiceError) -> AdrnormV1.HealthResponse {
        .init(status: .serving)
    }
}
