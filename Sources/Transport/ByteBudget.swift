import Foundation

/// A count of bytes shared by many connections (all the server's queued
/// output, all its buffered requests) against one limit. Thread-safe.
package final class ByteBudget: @unchecked Sendable {
    package let limit: Int
    private let lock = NSLock()
    private var used = 0

    package init(limit: Int) {
        self.limit = limit
    }

    /// Bytes counted now.
    package var inUse: Int { lock.withLock { used } }

    /// Counts `bytes` if they fit under the limit; false (and nothing
    /// counted) if they do not.
    package func reserve(_ bytes: Int) -> Bool {
        lock.withLock {
            guard used + bytes <= limit else { return false }
            used += bytes
            return true
        }
    }

    /// Changes the count by `delta` whatever the limit (output already
    /// queued is counted even above it; the limit is checked before more is
    /// added).
    package func add(_ delta: Int) {
        lock.withLock { used += delta }
    }

    package func release(_ bytes: Int) {
        add(-bytes)
    }
}
