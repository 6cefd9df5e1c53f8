import Foundation
import RPCServer
import Terminology
import Wire

/// The audit trail of `adrnorm serve --log-format json`: one JSON line per
/// call and per connection event, so that "who coded what, with which
/// MedDRA version" is answered by the log alone (docs/OPERATIONS.md has the
/// fields). Lines carry `"log": "audit"` to tell them from the server's other
/// JSON lines.
public final class AuditLog: ServerObserver, @unchecked Sendable {
    private let writer: LineWriter

    public init(writer: LineWriter) { self.writer = writer }

    private func emit(_ event: String, time: Date = Date(), _ fields: [(String, JSONValue)]) {
        writer.write(JSONValue.object([("time", .string(LineWriter.timestamp(time))), ("log", .string("audit")),
                                       ("event", .string(event))] + fields).text())
    }

    private static func identity(_ name: String?) -> JSONValue { name.map(JSONValue.string) ?? .null }

    public func connectionOpened(_ event: ConnectionEvent) {
        emit("connection_open", [("connection", .integer(event.connection)), ("identity", Self.identity(event.identity)),
                                 ("allowed", .bool(event.allowed))])
    }

    public func connectionClosed(_ event: ConnectionEvent) {
        emit("connection_close", [("connection", .integer(event.connection)), ("identity", Self.identity(event.identity)),
                                  ("reason", .string(event.reason)), ("calls", .integer(event.calls)),
                                  ("seconds", .number(event.seconds, format: "%.3f"))])
    }

    public func handshakeFailed(_ event: HandshakeFailure) {
        emit("handshake_failure", [("connection", .integer(event.connection)), ("reason", .string(event.reason.rawValue)),
                                   ("detail", .string(event.detail))])
    }

    public func callStarted(connection: Int, method: String) {}

    public func callFinished(_ call: CallSummary) {
        let work = call.work
        emit("call", time: call.time, [
            ("connection", .integer(call.connection)), ("stream", .integer(Int(call.stream))),
            ("identity", Self.identity(call.identity)), ("method", .string(call.method)),
            ("status", .string(call.status.description)), ("mentions", .integer(work.mentions)),
            ("pairs", .integer(work.pairs)), ("cache_hits", .integer(work.cacheHits)),
            ("latency_ms", .number(Double(call.latency.fractionalMilliseconds), format: "%.3f")),
            ("dictionary_version", .string(work.dictionaryVersion)), ("dictionary_digest", .string(work.dictionaryDigest)),
        ])
    }
}

/// Fans one server's events out to several observers (metrics and the audit log).
public struct ObserverGroup: ServerObserver {
    public let observers: [any ServerObserver]

    public init(_ observers: [any ServerObserver]) { self.observers = observers }

    public func connectionOpened(_ event: ConnectionEvent) { for o in observers { o.connectionOpened(event) } }
    public func connectionClosed(_ event: ConnectionEvent) { for o in observers { o.connectionClosed(event) } }
    public func handshakeFailed(_ event: HandshakeFailure) { for o in observers { o.handshakeFailed(event) } }
    public func callStarted(connection: Int, method: String) {
        for o in observers { o.callStarted(connection: connection, method: method) }
    }
    public func callFinished(_ call: CallSummary) { for o in observers { o.callFinished(call) } }
}

extension Duration {
    /// Milliseconds with a fractional part.
    var fractionalMilliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
