import Foundation

/// What is in progress per key, each key held to the same limit: `enter`
/// refuses at the limit instead of waiting. The service uses one for the
/// calls that score nothing (one key, counting calls) and one for the
/// clients' shares of the pair budget (a key per client identity, counting
/// pairs), so one client, however many connections it opens, cannot make
/// every other client's calls RESOURCE_EXHAUSTED.
///
/// @unchecked Sendable: `held` is guarded by `lock`.
package final class AdmissionCounts: @unchecked Sendable {
    package let limit: Int
    private let lock = NSLock()
    private var held: [String: Int] = [:]

    package init(limit: Int) { self.limit = limit }

    /// Counts `count` for `key` and returns nil, or returns what the key
    /// already holds (nothing counted) when `count` more would pass the
    /// limit. A single request larger than the limit is refused too.
    package func enter(_ key: String = "", count: Int = 1) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        let current = held[key, default: 0]
        guard current + count <= limit else { return current }
        held[key] = current + count
        return nil
    }

    package func leave(_ key: String = "", count: Int = 1) {
        lock.lock()
        defer { lock.unlock() }
        let remaining = held[key, default: 0] - count
        held[key] = remaining > 0 ? remaining : nil
    }

    /// Keys holding something now (for tests: finished work leaves nothing).
    package var keys: Int {
        lock.lock()
        defer { lock.unlock() }
        return held.count
    }
}
