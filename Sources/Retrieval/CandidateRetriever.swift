/// Stage 1 of the pipeline for one dictionary and template: renders every
/// candidate's text, builds the BM25 and exact-alias indexes once, and
/// answers top-k queries in either mode. Immutable and `Sendable`; for many
/// queries on one thread, take a `session()` to reuse scratch buffers.
public struct CandidateRetriever: Sendable {
    public let dictionary: CandidateDictionary
    public let template: CandidateTemplate
    /// The candidate text of each term under `template`.
    public let texts: [String]
    public let bm25: BM25Index
    public let exact: ExactAliasIndex

    public init(dictionary: CandidateDictionary, template: CandidateTemplate = .default) {
        self.dictionary = dictionary
        self.template = template
        texts = dictionary.terms.map(template.render)
        bm25 = BM25Index(documents: texts)
        exact = ExactAliasIndex(terms: dictionary.terms)
    }

    /// Ranks the candidates for `mention`. Allocates scratch for this call;
    /// use a `Session` in loops.
    public func retrieve(_ mention: String, mode: RetrievalMode = .bm25, topK: Int = 100)
        throws(RetrievalError) -> [RetrievalHit]
    {
        try session().retrieve(mention, mode: mode, topK: topK)
    }

    public func session() -> Session { Session(retriever: self) }

    /// A retriever with its own scratch buffers: one per thread.
    public final class Session {
        public let retriever: CandidateRetriever
        private let searcher: BM25Searcher

        init(retriever: CandidateRetriever) {
            self.retriever = retriever
            searcher = BM25Searcher(index: retriever.bm25)
        }

        public func retrieve(_ mention: String, mode: RetrievalMode = .bm25, topK: Int = 100)
            throws(RetrievalError) -> [RetrievalHit]
        {
            switch mode {
            case .bm25: return try searcher.search(mention, topK: topK)
            case .exact: return try retriever.exact.search(mention, topK: topK)
            }
        }
    }
}
