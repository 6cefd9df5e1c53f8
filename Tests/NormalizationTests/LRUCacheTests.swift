import Testing
import Normalization

@Suite struct LRUCacheTests {
    @Test("evicts the least recently used entry and counts hits and misses")
    func eviction() {
        let cache = LRUCache<String, Int>(capacity: 2)
        cache.insert(1, forKey: "a")
        cache.insert(2, forKey: "b")
        #expect(cache.value(forKey: "a") == 1)      // a is now most recent
        cache.insert(3, forKey: "c")                 // evicts b
        #expect(cache.value(forKey: "b") == nil)
        #expect(cache.value(forKey: "a") == 1)
        #expect(cache.value(forKey: "c") == 3)
        cache.insert(4, forKey: "a")                 // update in place
        #expect(cache.value(forKey: "a") == 4)
        let s = cache.statistics
        #expect(s.hits == 4 && s.misses == 1 && s.entries == 2 && s.evictions == 1 && s.capacity == 2)
    }

    @Test("matches a reference model on a random workload")
    func randomized() {
        var rng = SystemRandomNumberGenerator()
        let capacity = 17
        let cache = LRUCache<Int, Int>(capacity: capacity)
        var model: [(Int, Int)] = []   // most recent last
        for step in 0..<20_000 {
            let key = Int.random(in: 0..<40, using: &rng)
            if Bool.random(using: &rng) {
                cache.insert(step, forKey: key)
                model.removeAll { $0.0 == key }
                model.append((key, step))
                if model.count > capacity { model.removeFirst() }
            } else {
                let expected = model.first { $0.0 == key }?.1
                #expect(cache.value(forKey: key) == expected)
                if let i = model.firstIndex(where: { $0.0 == key }) { model.append(model.remove(at: i)) }
            }
        }
        #expect(cache.statistics.entries == model.count)
    }

    @Test("capacity 0 stores nothing")
    func disabled() {
        let cache = LRUCache<String, Int>(capacity: 0)
        cache.insert(1, forKey: "a")
        #expect(cache.value(forKey: "a") == nil)
        #expect(cache.statistics.misses == 1)
    }
}
