/// Why a retrieval request was refused.
public enum RetrievalError: Error, Equatable, CustomStringConvertible {
    /// The mention is empty or only (Python) whitespace.
    case emptyMention
    /// `top_k` must be at least 1.
    case invalidTopK(Int)

    public var description: String {
        switch self {
        case .emptyMention: return "the mention is empty or whitespace only"
        case .invalidTopK(let k): return "top_k must be at least 1 (got \(k))"
        }
    }
}

/// How candidates are ranked (docs/PIPELINE.md §BM25, §Exact mode).
public enum RetrievalMode: String, Sendable, CaseIterable {
    /// Character BM25 over the candidate texts.
    case bm25
    /// Candidates whose PT name or an alias equals the trimmed mention first
    /// (score 1), the rest after (score 0), each group in candidate order.
    case exact
}

/// One ranked candidate. Its rank is its position in the result (1-based).
public struct RetrievalHit: Sendable, Equatable {
    /// Index into the dictionary's `terms` (= candidate order).
    public var candidateIndex: Int
    public var score: Double
    /// `score / max score among the kept`, 0 when that max is 0.
    public var probability: Double

    public init(candidateIndex: Int, score: Double, probability: Double) {
        self.candidateIndex = candidateIndex
        self.score = score
        self.probability = probability
    }
}
