import Foundation

/// Items handed to a serial queue from other threads and taken there in
/// batches: the poster of the first item since the last `takeAll` schedules
/// the taking (one hop onto the queue), later ones ride along. Thread-safe.
package final class Inbox<Element>: @unchecked Sendable {
    // Inlinable so the callers in other targets get it specialized (no
    // generic metadata lookups per item on the RPC hot path).
    @usableFromInline let lock = NSLock()
    @usableFromInline var items: [Element] = []

    @inlinable package init() {}

    /// Adds `item`; true when it is the first since the last `takeAll`, and
    /// its poster must schedule a `takeAll` on the queue.
    @inlinable package func post(_ item: Element) -> Bool {
        lock.withLock {
            items.append(item)
            return items.count == 1
        }
    }

    /// Everything posted since the last call, in order.
    @inlinable package func takeAll() -> [Element] {
        lock.withLock {
            defer { items.removeAll() }
            return items
        }
    }
}
