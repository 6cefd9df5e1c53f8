/// Runs BM25 queries against one `BM25Index`, reusing its scratch buffers
/// (a dense score array, the list of touched documents, a top-k heap), so a
/// query allocates only its result. Not thread-safe: use one per thread.
public final class BM25Searcher {
    public let index: BM25Index
    private var scores: [Double]
    private var touched: [Int32] = []
    private var heap: [Int32] = []

    public init(index: BM25Index) {
        self.index = index
        scores = [Double](repeating: 0, count: index.documentCount)
        touched.reserveCapacity(index.documentCount)
    }

    /// The top `topK` documents for `query` (all of them when `topK` exceeds
    /// the count): score descending, ties by document order, documents with
    /// score 0 included in document order. `probability` is score / top score.
    public func search(_ query: String, topK: Int) throws(RetrievalError) -> [RetrievalHit] {
        guard topK >= 1 else { throw .invalidTopK(topK) }
        let n = index.documentCount
        let k = min(topK, n)
        var sawTerm = false
        index.postingWeight.withUnsafeBufferPointer { weight in
            index.postingDocument.withUnsafeBufferPointer { document in
                index.postingStart.withUnsafeBufferPointer { start in
                    scores.withUnsafeMutableBufferPointer { score in
                        for scalar in query.unicodeScalars where !scalar.isPythonWhitespace {
                            sawTerm = true
                            let id = index.termID(scalar)
                            if id < 0 { continue }
                            for p in Int(start[Int(id)])..<Int(start[Int(id) + 1]) {
                                let d = Int(document[p])
                                if score[d] == 0 { touched.append(Int32(d)) }
                                score[d] += weight[p]
                            }
                        }
                    }
                }
            }
        }
        guard sawTerm else { throw .emptyMention }
        defer {
            for d in touched { scores[Int(d)] = 0 }
            touched.removeAll(keepingCapacity: true)
        }
        var result: [RetrievalHit] = []
        result.reserveCapacity(k)
        if k == 0 { return result }
        selectTop(k)
        for d in heap { result.append(RetrievalHit(candidateIndex: Int(d), score: scores[Int(d)], probability: 0)) }
        if result.count < k {
            // Every touched document scored > 0 (all weights are positive), so the
            // rest score 0 and follow in document order.
            var d = 0
            while result.count < k && d < n {
                if scores[d] == 0 { result.append(RetrievalHit(candidateIndex: d, score: 0, probability: 0)) }
                d += 1
            }
        }
        let top = result[0].score
        if top > 0 { for i in result.indices { result[i].probability = result[i].score / top } }
        return result
    }

    /// Leaves in `heap` the best `k` touched documents, best first.
    private func selectTop(_ k: Int) {
        heap.removeAll(keepingCapacity: true)
        scores.withUnsafeBufferPointer { score in
            // "a is better than b": higher score, or equal score and earlier document.
            @inline(__always) func better(_ a: Int32, _ b: Int32) -> Bool {
                let sa = score[Int(a)], sb = score[Int(b)]
                return sa > sb || (sa == sb && a < b)
            }
            if touched.count <= k {
                heap.append(contentsOf: touched)
                heap.sort(by: better)
                return
            }
            // Min-heap on "better": the root is the worst of the kept.
            func siftDown(_ start: Int) {
                var i = start
                let c = heap.count
                while true {
                    let l = 2 * i + 1, r = l + 1
                    var worst = i
                    if l < c && better(heap[worst], heap[l]) { worst = l }
                    if r < c && better(heap[worst], heap[r]) { worst = r }
                    if worst == i { return }
                    heap.swapAt(i, worst)
                    i = worst
                }
            }
            heap.append(contentsOf: touched[0..<k])
            for i in stride(from: k / 2 - 1, through: 0, by: -1) { siftDown(i) }
            for j in k..<touched.count {
                let d = touched[j]
                if better(d, heap[0]) {
                    heap[0] = d
                    siftDown(0)
                }
            }
            heap.sort(by: better)
        }
    }
}
