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
