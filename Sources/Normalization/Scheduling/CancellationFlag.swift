import Foundation

/// Anything that says whether a caller has abandoned its work (a client's
/// Cancel, a closed connection). Work checks it between batches.
public protocol CancellationSignal: Sendable {
    var isCancelled: Bool { get }
}

/// A one-way flag that a caller sets to abandon work.
public final class CancellationFlag: CancellationSignal, @unchecked Sendable {
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
