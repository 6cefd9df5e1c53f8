import Foundation

/// Resumes one waiter on the first termination signal.
final class SignalWaiter: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var received: Int32?
    private var continuation: CheckedContinuation<Int32, Never>?

    func fire(_ number: Int32) {
        lock.lock()
        defer { lock.unlock() }
        guard received == nil else { return }
        received = number
        continuation?.resume(returning: number)
        continuation = nil
    }

    func wait() async -> Int32 {
        await withCheckedContinuation { c in
            lock.lock()
            defer { lock.unlock() }
            if let received { c.resume(returning: received) } else { continuation = c }
        }
    }
}
