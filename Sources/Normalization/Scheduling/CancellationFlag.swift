import Foundation

/// A one-way flag that a caller sets to abandon work (a client's Cancel, a
/// closed connection). Work checks it between batches.
public final class CancellationFlag: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var cancelled = false

    public init() {}

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
