import Cancellation
import Foundation
import Transport
import Wire

/// The `adrnorm.v1.Normalizer` service as the RPC layer calls it
/// (docs/PROTOCOL.md §The service). The server decodes each request, calls
/// one of these methods in a task of its own (never on a connection's I/O
/// queue, and no thread waits for the result), and encodes the result or
/// maps the thrown `ServiceError` to the call's status.
///
/// `NormalizeStream` has no method of its own: the server calls
/// `normalize` once per streamed request and reports a thrown error as that
/// item's `ItemError`, in request order.
///
/// Admission is the service's: a method refuses work it cannot take now
/// with `RESOURCE_EXHAUSTED` at once rather than queueing it without bound.
/// Long-running methods pass `context.cancellation` and `context.deadline`
/// on to their work (the scoring scheduler checks both between batches):
/// the token is cancelled when the deadline passes, the client cancels, or
/// the connection goes.
public protocol NormalizerService: Sendable {
    func retrieve(_ request: AdrnormV1.RetrieveRequest, context: CallContext) async throws(ServiceError) -> AdrnormV1.RetrieveResponse
    func score(_ request: AdrnormV1.ScoreRequest, context: CallContext) async throws(ServiceError) -> AdrnormV1.ScoreResponse
    func normalize(_ request: AdrnormV1.NormalizeRequest, context: CallContext) async throws(ServiceError) -> AdrnormV1.NormalizeResponse
    func info(_ request: AdrnormV1.InfoRequest, context: CallContext) async throws(ServiceError) -> AdrnormV1.InfoResponse
    func health(_ request: AdrnormV1.HealthRequest, context: CallContext) async throws(ServiceError) -> AdrnormV1.HealthResponse
}

/// What a service method knows about the call it serves.
public struct CallContext: Sendable {
    /// The full method name, e.g. "/adrnorm.v1.Normalizer/Normalize".
    public let method: String
    public let streamID: StreamID
    /// The verified client identity, nil in insecure-no-client-auth mode.
    public let peer: PeerIdentity?
    public let metadata: [String: String]
    /// When the call's `timeout_ms` runs out, if it set one, on the one
    /// clock used from the wire to the scoring scheduler.
    public let deadline: ContinuousClock.Instant?
    /// Set when the work should stop (deadline, Cancel, connection closed).
    public let cancellation: CancellationToken
    /// What the service did for the call (mentions, pairs, cache hits, the
    /// dictionary), for the metrics and the audit log: the service adds to
    /// it as it works. One record per stream, shared by a NormalizeStream's items.
    public let record = CallRecord()

    public init(method: String, streamID: StreamID, peer: PeerIdentity?, metadata: [String: String],
                deadline: ContinuousClock.Instant?, cancellation: CancellationToken) {
        self.method = method
        self.streamID = streamID
        self.peer = peer
        self.metadata = metadata
        self.deadline = deadline
        self.cancellation = cancellation
    }
}
