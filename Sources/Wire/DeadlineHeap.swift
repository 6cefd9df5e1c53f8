/// Deadlines of the open streams of one connection (either side): a binary
/// min-heap of (deadline, stream id) with lazy deletion. An entry whose
/// stream has ended stays until it reaches the top or the heap is
/// compacted, which happens once stale entries outnumber the live streams
/// (and are at least 8).
package struct DeadlineHeap {
    package init() {}

    private var entries: [(deadline: UInt64, id: UInt32)] = []
    private var stale = 0

    package var count: Int { entries.count }

    package mutating func insert(_ deadline: UInt64, _ id: UInt32) {
        entries.append((deadline, id))
        siftUp(entries.count - 1)
    }

    package mutating func removeAll() {
        entries.removeAll(keepingCapacity: entries.count <= 1024)
        stale = 0
    }

    /// A stream with an entry ended; compacts when stale entries are more
    /// than the live streams (`liveCount`) and at least 8, keeping the heap
    /// within twice the live streams plus 8.
    package mutating func entryEnded(liveCount: Int) {
        stale += 1
        if stale > liveCount && stale >= 8 { compact = true }
    }

    /// Set by `entryEnded`; done by the next `earliest`, which knows which
    /// entries are live.
    private var compact = false

    /// The earliest live deadline; stale entries on top are dropped.
    package mutating func earliest(isLive: (UInt64, UInt32) -> Bool) -> UInt64? {
        if compact {
            compact = false
            stale = 0
            entries.removeAll { !isLive($0.deadline, $0.id) }
            if entries.count > 1 {
                for index in stride(from: entries.count / 2 - 1, through: 0, by: -1) { siftDown(index) }
            }
        }
        while let top = entries.first {
            if isLive(top.deadline, top.id) { return top.deadline }
            popTop()
            if stale > 0 { stale -= 1 }
        }
        return nil
    }

    /// Removes and returns the earliest entry if it is due at `now` (stale or not).
    package mutating func popExpired(now: UInt64) -> (UInt64, UInt32)? {
        guard let top = entries.first, top.deadline <= now else { return nil }
        popTop()
        return top
    }

    private mutating func popTop() {
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            siftDown(0)
        }
    }

    private mutating func siftUp(_ index: Int) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].deadline < entries[parent].deadline else { return }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var parent = index
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < entries.count && entries[left].deadline < entries[smallest].deadline { smallest = left }
            if right < entries.count && entries[right].deadline < entries[smallest].deadline { smallest = right }
            if smallest == parent { return }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
