import Foundation

/// Results that arrive in any order and leave in index order.
final class OrderedResults<Value: Sendable>: @unchecked Sendable {
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var ready: [Int: Value] = [:]
    private var next = 0

    func put(_ index: Int, _ value: Value) {
        condition.lock()
        ready[index] = value
        condition.broadcast()
        condition.unlock()
    }

    /// The next result in order; waits for it when `waiting`, else returns
    /// nil when it has not arrived.
    func takeNext(waiting: Bool) -> (Int, Value)? {
        condition.lock()
        defer { condition.unlock() }
        while ready[next] == nil {
            if !waiting { return nil }
            condition.wait()
        }
        let value = ready.removeValue(forKey: next)!
        next += 1
        return (next - 1, value)
    }
}
