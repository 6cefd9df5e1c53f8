import Foundation

/// The one cancellation type from the wire to the scheduler: the server
/// makes one per call (a client's Cancel, a passed deadline, a closed
/// connection or a status already sent cancel it), the service passes it to
/// the pipeline, and the scoring scheduler checks it whenever it forms a
/// batch. Cancelling is one-way and idempotent.
///
/// @unchecked Sendable: `cancelled` is guarded by `lock`.
public final class CancellationToken: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false

    public init() {}

    /// Marks the work as abandoned; later checks see it.
    public func cancel() {
        lock.lock()
        cancelled = true
        lock.unlock()
    }

    public var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }
}
