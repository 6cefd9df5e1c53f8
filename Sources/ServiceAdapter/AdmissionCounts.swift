import Foundation

/// Pairs admitted per client identity, each client held to the same share
/// of the scoring budget: one client (however many connections it opens)
/// cannot make every other client's calls RESOURCE_EXHAUSTED.
///
/// @unchecked Sendable: `held` is guarded by `lock`.
package final class ClientShares: @unchecked Sendable {
    package let limit: Int
    private let lock = NSLock()
    private var held: [String: Int] = [:]

    package init(limit: Int) { self.limit = limit }

    /// Counts `pairs` for `client` and returns nil, or returns what the
    /// client already holds (nothing counted) when `pairs` more would pass
    /// the share. A single request larger than the share is refused too.
    package func enter(_ client: String, pairs: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        let current = held[client, default: 0]
        guard current + pairs <= limit else { return current }
        held[client] = current + pairs
        return nil
    }

    package func leave(_ client: String, pairs: Int) {
        lock.lock()
        defer { lock.unlock() }
        let remaining = held[client, default: 0] - pairs
        held[client] = remaining > 0 ? remaining : nil
    }

    /// Clients holding pairs now (for tests: finished calls leave nothing).
    package var clients: Int {
        lock.lock()
        defer { lock.unlock() }
        return held.count
    }
}
