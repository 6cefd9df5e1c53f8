import Foundation

/// Items handed to a serial queue from other threads and taken there in
/// batches: the poster of the first item since the last `takeAll` schedules
/// the taking (one hop onto the queue), later ones ride along. Thread-safe.
package final class Inbox<Element>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Element] = []

    package init() {}

    /// Adds `item`; true when it is the first since the last `takeAll`, and
    /// its poster must schedule a `takeAll` on the queue.
    package func post(_ item: Element) -> Bool {
        lock.withLock {
            items.append(item)
            return items.count == 1
        }
    }

    /// Everything posted since the last call, in order.
    package func takeAll() -> [Element] {
        lock.withLock {
            defer { items.removeAll() }
            return items
        }
    }
}
