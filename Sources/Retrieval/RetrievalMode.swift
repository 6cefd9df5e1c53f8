/// How candidates are ranked (docs/PIPELINE.md §BM25, §Exact mode).
public enum RetrievalMode: String, Sendable, CaseIterable {
    /// Character BM25 over the candidate texts.
    case bm25
    /// Candidates whose PT name or an alias equals the trimmed mention first
    /// (score 1), the rest after (score 0), each group in candidate order.
    case exact
}
