import Foundation

/// A thread-safe least-recently-used map with hit and miss counts.
/// Capacity 0 disables caching (every lookup misses, nothing is stored).
public final class LRUCache<Key: Hashable & Sendable, Value: Sendable>: @unchecked Sendable {
    public struct Statistics: Sendable, Equatable {
        public var hits: UInt64 = 0
        public var misses: UInt64 = 0
        public var entries: Int = 0
        public var capacity: Int = 0
        public var evictions: UInt64 = 0
    }

    private struct Node {
        var key: Key
        var value: Value
        var previous: Int   // -1: none
        var next: Int       // -1: none
    }

    // Guarded by `lock`. A doubly linked list threaded through `nodes`
    // (most recent at `head`), with `slots` from key to node index.
    private let lock = NSLock()
    private var nodes: [Node] = []
    private var slots: [Key: Int] = [:]
    private var head = -1
    private var tail = -1
    private var stats = Statistics()

    public let capacity: Int

    public init(capacity: Int) {
        precondition(capacity >= 0, "LRUCache capacity must not be negative")
        self.capacity = capacity
        stats.capacity = capacity
        nodes.reserveCapacity(min(capacity, 1 << 16))
    }

    public var statistics: Statistics {
        lock.lock()
        defer { lock.unlock() }
        var s = stats
        s.entries = slots.count
        return s
    }

    /// The cached value, marking it most recently used; counts a hit or a miss.
    public func value(forKey key: Key) -> Value? {
        lock.lock()
        defer { lock.unlock() }
        guard let index = slots[key] else {
            stats.misses += 1
            return nil
        }
        stats.hits += 1
        moveToFront(index)
        return nodes[index].value
    }

    /// Stores `value`, evicting the least recently used entry when full.
    public func insert(_ value: Value, forKey key: Key) {
        guard capacity > 0 else { return }
        lock.lock()
        defer { lock.unlock() }
        if let index = slots[key] {
            nodes[index].value = value
            moveToFront(index)
            return
        }
        let index: Int
        if slots.count < capacity {
            index = nodes.count
            nodes.append(Node(key: key, value: value, previous: -1, next: -1))
        } else {
            // Reuse the tail's slot.
            index = tail
            unlink(index)
            slots[nodes[index].key] = nil
            nodes[index] = Node(key: key, value: value, previous: -1, next: -1)
            stats.evictions += 1
        }
        slots[key] = index
        linkAtFront(index)
    }

    public func removeAll() {
        lock.lock()
        defer { lock.unlock() }
        nodes.removeAll(keepingCapacity: true)
        slots.removeAll(keepingCapacity: true)
        head = -1
        tail = -1
    }

    private func moveToFront(_ index: Int) {
        guard index != head else { return }
        unlink(index)
        linkAtFront(index)
    }

    private func unlink(_ index: Int) {
        let p = nodes[index].previous, n = nodes[index].next
        if p >= 0 { nodes[p].next = n } else { head = n }
        if n >= 0 { nodes[n].previous = p } else { tail = p }
        nodes[index].previous = -1
        nodes[index].next = -1
    }

    private func linkAtFront(_ index: Int) {
        nodes[index].next = head
        nodes[index].previous = -1
        if head >= 0 { nodes[head].previous = index }
        head = index
        if tail < 0 { tail = index }
    }
}
