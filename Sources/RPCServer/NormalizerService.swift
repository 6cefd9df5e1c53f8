import Transport
import Wire
import Foundation

/// The `adrnorm.v1.Normalizer` service as the RPC layer calls it
/// (docs/PROTOCOL.md §The service). The server decodes each request, calls
/// one of these methods on a worker thread (never on a connection's I/O queue), and encodes the
/// result or maps the thrown `ServiceError` to the call's status.
///
/// `NormalizeStream` has no method of its own: the server calls
/// `normalize` once per streamed request and reports a thrown error as that
/// item's `ItemError`, in request order.
///
/// Long-running methods should check `context.cancellation.isCancelled`
/// now and then (for example between scoring batches) and stop early: it
/// becomes true when the deadline passes, the client cancels, or the
/// connection goes.
public protocol NormalizerService: Sendable {
    func retrieve(_ request: AdrnormV1.RetrieveRequest, context: CallContext) throws(ServiceError) -> AdrnormV1.RetrieveResponse
    func score(_ request: AdrnormV1.ScoreRequest, context: CallContext) throws(ServiceError) -> AdrnormV1.ScoreResponse
    func normalize(_ request: AdrnormV1.NormalizeRequest, context: CallContext) throws(ServiceError) -> AdrnormV1.NormalizeResponse
    func info(_ request: AdrnormV1.InfoRequest, context: CallContext) throws(ServiceError) -> AdrnormV1.InfoResponse
    func health(_ request: AdrnormV1.HealthRequest, context: CallContext) throws(ServiceError) -> AdrnormV1.HealthResponse
}

/// What a service method knows about the call it serves.
public struct CallContext: Sendable {
    /// The full method name, e.g. "/adrnorm.v1.Normalizer/Normalize".
    public let method: String
    public let streamID: StreamID
    /// The verified client identity, nil in insecure-no-client-auth mode.
    public let peer: PeerIdentity?
    public let metadata: [String: String]
    /// When the call's `timeout_ms` runs out, if it set one.
    public let deadline: DispatchTime?
    /// Set when the work should stop (deadline, Cancel, connection closed).
    public let cancellation: CancellationToken

    public init(method: String, streamID: StreamID, peer: PeerIdentity?, metadata: [String: String],
                deadline: DispatchTime?, cancellation: CancellationToken) {
        self.method = method
        self.streamID = streamID
        self.peer = peer
        self.metadata = metadata
        self.deadline = deadline
        self.cancellation = cancellation
    }
}

/// A one-way flag that says a call's work should stop, with the reason.
/// Thread-safe; cheap to poll from a tight loop.
public final class CancellationToken: @unchecked Sendable {
    // `reason` is guarded by `lock`.
    private let lock = NSLock()
    private var reason: StatusCode?

    public init() {}

    public var isCancelled: Bool {
        lock.lock(); defer { lock.unlock() }
        return reason != nil
    }

    /// Why the work was stopped (`DEADLINE_EXCEEDED`, `CANCELLED`, …), nil
    /// while it may go on.
    public var cancellationCode: StatusCode? {
        lock.lock(); defer { lock.unlock() }
        return reason
    }

    /// Stops the work; the first reason wins.
    public func cancel(_ code: StatusCode = .cancelled) {
        lock.lock(); defer { lock.unlock() }
        if reason == nil { reason = code }
    }
}
