import Foundation
import Transport
import Wire

/// What a server tells its operators about connections and calls: the
/// Prometheus metrics and the JSON audit log of `adrnorm serve` are
/// observers. Every method is called on a connection's queue, once per
/// event: keep it short, and never block.
public protocol ServerObserver: Sendable {
    /// TLS is up on a connection (whether or not its identity is allowed).
    func connectionOpened(_ event: ConnectionEvent)
    /// A connection whose TLS handshake completed has closed.
    func connectionClosed(_ event: ConnectionEvent)
    /// A connection closed before its TLS handshake completed.
    func handshakeFailed(_ event: HandshakeFailure)
    /// A `Call` frame opened a stream (it ends with `callFinished`).
    func callStarted(connection: Int, method: String)
    /// A call's status was sent, or its connection closed before it could be.
    func callFinished(_ call: CallSummary)
}

/// One connection's open or close.
public struct ConnectionEvent: Sendable {
    public var connection: Int
    /// The client certificate's name; nil without one (insecure-no-client-auth).
    public var identity: String?
    /// Whether the identity is on the allowlist (or there is none).
    public var allowed: Bool
    /// For a close: "orderly", or why it closed.
    public var reason: String
    /// For a close: calls served, and seconds since accept.
    public var calls: Int
    public var seconds: Double

    public init(connection: Int, identity: String?, allowed: Bool, reason: String = "", calls: Int = 0, seconds: Double = 0) {
        self.connection = connection
        self.identity = identity
        self.allowed = allowed
        self.reason = reason
        self.calls = calls
        self.seconds = seconds
    }
}

/// A connection that never completed its TLS handshake.
public struct HandshakeFailure: Sendable {
    /// Why, in a few words from a fixed set (a metric label).
    public enum Reason: String, Sendable, CaseIterable {
        /// No handshake within --handshake-timeout.
        case timeout
        /// The client's certificate did not verify against --client-ca.
        case certificateRejected = "certificate_rejected"
        /// The client sent no certificate (one is required).
        case noClientCertificate = "no_client_certificate"
        /// No TLS version or cipher suite in common.
        case protocolMismatch = "protocol_mismatch"
        /// Another TLS error (not TLS at all, a bad record, …).
        case tlsError = "tls_error"
        /// The client (or the server, making room) closed it first.
        case closed
    }

    public var connection: Int
    public var reason: Reason
    /// The whole error, for the log.
    public var detail: String

    public init(connection: Int, reason: Reason, detail: String) {
        self.connection = connection
        self.reason = reason
        self.detail = detail
    }

    /// Classifies the error a connection closed with before its handshake completed.
    public static func reason(for error: RPCError?) -> Reason {
        guard let error else { return .closed }
        switch error {
        case .timedOut:
            return .timeout
        case .tls(let tls):
            let text = "\(tls)".lowercased()
            if case .handshake(_, let verification?) = tls, !verification.isEmpty { return .certificateRejected }
            if text.contains("did not return a certificate") || text.contains("certificate required") {
                return .noClientCertificate
            }
            if text.contains("certificate verify failed") || text.contains("unknown ca") || text.contains("bad certificate") {
                return .certificateRejected
            }
            if text.contains("version") || text.contains("no shared cipher") || text.contains("no suitable") {
                return .protocolMismatch
            }
            return .tlsError
        case .connectionClosed, .system:
            return .closed
        default:
            return .tlsError
        }
    }
}

/// One finished call, for metrics and the audit log.
public struct CallSummary: Sendable {
    /// When its status was sent.
    public var time: Date
    public var connection: Int
    public var stream: UInt32
    /// The client certificate's name; nil without one.
    public var identity: String?
    /// The full method name as the client sent it.
    public var method: String
    public var status: StatusCode
    /// From the first Call frame to the status.
    public var latency: Duration
    /// What the service did for it (`CallRecord`).
    public var work: CallRecord.Snapshot

    public init(time: Date, connection: Int, stream: UInt32, identity: String?, method: String, status: StatusCode,
                latency: Duration, work: CallRecord.Snapshot) {
        self.time = time
        self.connection = connection
        self.stream = stream
        self.identity = identity
        self.method = method
        self.status = status
        self.latency = latency
        self.work = work
    }
}

/// What the service did for one call, filled in by the service while it
/// runs (`CallContext.record`) and read by the server when the call's
/// status goes out. A NormalizeStream's items add to one record.
/// Thread-safe.
public final class CallRecord: @unchecked Sendable {
    public struct Snapshot: Sendable, Equatable {
        /// Mentions normalized (Normalize: 1; NormalizeStream: one per item).
        public var mentions = 0
        /// (mention, candidate) pairs the call asked the scorer for.
        public var pairs = 0
        /// Mentions answered from the cache.
        public var cacheHits = 0
        /// The dictionary the call ran against; empty when it used none.
        public var dictionaryVersion = ""
        public var dictionaryDigest = ""

        public init() {}
    }

    private let lock = NSLock()
    private var current = Snapshot()

    public init() {}

    public func add(mentions: Int = 0, pairs: Int = 0, cacheHits: Int = 0) {
        lock.withLock {
            current.mentions += mentions
            current.pairs += pairs
            current.cacheHits += cacheHits
        }
    }

    public func setDictionary(version: String, digest: String) {
        lock.withLock {
            current.dictionaryVersion = version
            current.dictionaryDigest = digest
        }
    }

    public var snapshot: Snapshot { lock.withLock { current } }
}
