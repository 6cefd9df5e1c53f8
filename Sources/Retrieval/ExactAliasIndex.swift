/// The exact-alias mode (docs/PIPELINE.md §Exact mode): candidates whose PT name or any
/// alias equals the whole trimmed mention rank first with score 1, the rest
/// follow with score 0, each group in candidate order. Names are compared code
/// point by code point (as Python compares strings), not by Swift's canonical
/// equivalence.
public struct ExactAliasIndex: Sendable {
    private let candidatesByName: [[UInt8]: [Int32]]
    public let candidateCount: Int

    public init(terms: [PreferredTerm]) {
        var map: [[UInt8]: [Int32]] = [:]
        for (i, term) in terms.enumerated() {
            for name in [term.ptName] + term.lltNames {
                let key = Array(name.utf8)
                if map[key]?.last != Int32(i) { map[key, default: []].append(Int32(i)) }
            }
        }
        candidatesByName = map
        candidateCount = terms.count
    }

    /// The candidates whose PT name or an alias equals `name` exactly, in candidate order.
    public func matches(_ name: String) -> [Int] {
        (candidatesByName[Array(name.utf8)] ?? []).map(Int.init)
    }

    public func search(_ mention: String, topK: Int) throws(RetrievalError) -> [RetrievalHit] {
        guard topK >= 1 else { throw .invalidTopK(topK) }
        let trimmed = mention.trimmingPythonWhitespace
        guard !trimmed.isEmpty else { throw .emptyMention }
        let k = min(topK, candidateCount)
        let hits = candidatesByName[Array(trimmed.utf8)] ?? []
        var result: [RetrievalHit] = []
        result.reserveCapacity(k)
        var isHit = Set<Int32>()
        for d in hits where result.count < k {
            result.append(RetrievalHit(candidateIndex: Int(d), score: 1, probability: 1))
            isHit.insert(d)
        }
        var d = 0
        while result.count < k && d < candidateCount {
            if !isHit.contains(Int32(d)) { result.append(RetrievalHit(candidateIndex: d, score: 0, probability: 0)) }
            d += 1
        }
        return result
    }
}
