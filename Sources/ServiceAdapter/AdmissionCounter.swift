import Foundation

/// A count of calls in progress with a hard limit: `enter` refuses at the
/// limit instead of waiting.
///
/// @unchecked Sendable: `count` is guarded by `lock`.
package final class AdmissionCounter: @unchecked Sendable {
    package let limit: Int
    private let lock = NSLock()
    private var count = 0

    package init(limit: Int) { self.limit = limit }

    /// True and counted when under the limit; false (nothing counted) at it.
    package func enter() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard count < limit else { return false }
        count += 1
        return true
    }

    package func leave() {
        lock.lock()
        count -= 1
        lock.unlock()
    }
}
