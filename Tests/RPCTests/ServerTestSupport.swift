import Foundation
import Logging
import Testing
import RPCClient
import RPCServer
import Transport
import Wire

/// A one-shot event a test can wait for without sleeping.
final class Event: @unchecked Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    func signal() { semaphore.signal() }
    /// True when signalled within `seconds`.
    func wait(seconds: Double = 20) async -> Bool {
        await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            DispatchQueue.global().async { c.resume(returning: self.semaphore.wait(timeout: .now() + seconds) == .success) }
        }
    }
}

/// A thread-safe counter that tests can wait on.
final class Counter: @unchecked Sendable {
    private let condition = NSCondition()
    private var value = 0
    func increment() { condition.lock(); value += 1; condition.broadcast(); condition.unlock() }
    var count: Int { condition.lock(); defer { condition.unlock() }; return value }
    /// True once the count reaches `target` within `seconds`.
    func wait(until target: Int, seconds: Double = 30) async -> Bool {
        await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            DispatchQueue.global().async {
                let limit = Date(timeIntervalSinceNow: seconds)
                self.condition.lock()
                while self.value < target && self.condition.wait(until: limit) {}
                let reached = self.value >= target
                self.condition.unlock()
                c.resume(returning: reached)
            }
        }
    }
}

/// The test double for the normalization pipeline. Mentions steer it:
/// "" → INVALID_ARGUMENT; "slow" → runs until cancelled (signals `slowStarted`
/// and, once it sees the cancellation, `slowStopped`); "wait:N" → takes N ms.
final class FakeNormalizer: NormalizerService {
    let calls = Counter()
    let slowStarted = Event()
    let slowStopped = Event()
    let waitStarted = Counter()

    static let bigName = String(repeating: "x", count: 200_000)
    static let term = AdrnormV1.PreferredTerm(ptCode: "10019211", ptName: "头痛", lltNames: ["头疼"], hltName: "头痛NEC",
                                              hlgtName: "头痛", socName: "各类神经系统疾病")

    func retrieve(_ request: AdrnormV1.RetrieveRequest, context: CallContext) async throws(ServiceError) -> AdrnormV1.RetrieveResponse {
        calls.increment()
        let k = request.topK == 0 ? 3 : request.topK
        return .init(candidates: (1...k).map { .init(rank: $0, term: Self.term, score: 10 / Double($0), retrievalProb: 1 / Double($0)) },
                     template: request.template, mode: request.mode)
    }

    func score(_ request: AdrnormV1.ScoreRequest, context: CallContext) async throws(ServiceError) -> AdrnormV1.ScoreResponse {
        calls.increment()
        return .init(scores: request.pairs.map { pair in
            let text: String
            switch pair.candidate {
            case .ptCode(let code)?: text = "PT: \(code)"
            case .text(let t)?: text = t
            case nil: text = ""
            }
            return .init(logit0: 0, logit1: 1, prob0: 0.25, prob1: 0.75, candidateText: text)
        })
    }

    func normalize(_ request: AdrnormV1.NormalizeRequest, context: CallContext) async throws(ServiceError) -> AdrnormV1.NormalizeResponse {
        calls.increment()
        if request.mention.isEmpty { throw ServiceError(.invalidArgument, "mention: empty after trimming whitespace") }
        if request.mention == "slow" {
            slowStarted.signal()
            let start = DispatchTime.now()
            while !context.cancellation.isCancelled {
                if DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds > 30_000_000_000 {
                    throw ServiceError(.internal, "the slow fake was never cancelled")
                }
                try? await Task.sleep(for: .milliseconds(1))
            }
            slowStopped.signal()
            throw ServiceError(.cancelled, "stopped")
        }
        if request.mention == "huge" {
            // Over 4 MiB: more than one frame may carry.
            let long = String(repeating: "很长的名字", count: 100)
            return .init(id: request.id, matches: Array(repeating: .init(term: .init(ptCode: "1", ptName: long), probability: 0.5),
                                                        count: 3000))
        }
        if request.mention.hasPrefix("big:") {
            // About 200 KB of response for flow-control tests.
            return .init(id: request.id, matches: [.init(term: .init(ptCode: "big", ptName: Self.bigName), probability: 0.5)])
        }
        if request.mention.hasPrefix("wait:"), let ms = UInt32(request.mention.dropFirst(5)) {
            waitStarted.increment()
            try? await Task.sleep(for: .milliseconds(ms))
        }
        return .init(id: request.id, matches: [.init(term: Self.term, probability: 0.9, retrievalRank: 1)],
                     scorer: .lexical, threshold: request.threshold ?? 0.3)
    }

    func info(_ request: AdrnormV1.InfoRequest, context: CallContext) async throws(ServiceError) -> AdrnormV1.InfoResponse {
        calls.increment()
        return .init(serverName: "fake", serverVersion: "0", protocolVersion: 1,
                     model: .init(name: "fake-model", id2label: [0: "not_match", 1: "match"], matchLabelID: 1, synthetic: true))
    }

    func health(_ request: AdrnormV1.HealthRequest, context: CallContext) async throws(ServiceError) -> AdrnormV1.HealthResponse {
        calls.increment()
        return .init(status: .serving)
    }
}

/// Starts servers and clients on loopback with the dev certificates.
enum Loopback {
    static var logger: Logger {
        var logger = Logger(label: "adrnorm.rpc.test")
        logger.logLevel = .critical
        return logger
    }

    static func serverTLS(minimum: TLSMinimumVersion = .tls13, requireClientCertificate: Bool = true) -> TLSServerConfiguration {
        .init(certificateChainPath: DevCertificates.path("server.pem"), privateKeyPath: DevCertificates.path("server.key"),
              clientCAPath: DevCertificates.path("ca.pem"), requireClientCertificate: requireClientCertificate,
              minimumVersion: minimum)
    }

    static func startServer(service: FakeNormalizer = FakeNormalizer(), listen: String = "127.0.0.1:0",
                            _ adjust: (inout ServerConfiguration) -> Void = { _ in }) throws -> RPCServer {
        var configuration = ServerConfiguration(listenAddress: listen, tls: serverTLS())
        adjust(&configuration)
        let server = try RPCServer(configuration: configuration, service: service, logger: logger)
        try server.start()
        return server
    }

    /// A client presenting `certificate` (a name in Certs/out, nil for none).
    static func connect(_ server: RPCServer, certificate: String? = "client-a", host: String = "127.0.0.1",
                        maximum: TLSMinimumVersion? = nil) async throws(RPCError) -> RPCClient {
        let tls = TLSClientConfiguration(trustedCAPath: DevCertificates.path("ca.pem"),
                                         certificateChainPath: certificate.map { DevCertificates.path("\($0).pem") },
                                         privateKeyPath: certificate.map { DevCertificates.path("\($0).key") },
                                         minimumVersion: .tls12, maximumVersion: maximum)
        let address = host.contains(":") ? "[\(host)]:\(server.port)" : "\(host):\(server.port)"
        return try await RPCClient.connect(.init(address: address, tls: tls, connectTimeout: .seconds(20)))
    }
}

/// Asserts that `body` fails with status `code`; returns the message.
@discardableResult
func expectStatus(_ code: StatusCode, sourceLocation: SourceLocation = #_sourceLocation,
                  _ body: () async throws(RPCError) -> Void) async -> String {
    do {
        try await body()
        Issue.record("expected \(code), but the call succeeded", sourceLocation: sourceLocation)
    } catch {
        if case .status(let got, let message) = error {
            #expect(got == code, "\(message)", sourceLocation: sourceLocation)
            return message
        }
        Issue.record("expected status \(code), got \(error)", sourceLocation: sourceLocation)
    }
    return ""
}
