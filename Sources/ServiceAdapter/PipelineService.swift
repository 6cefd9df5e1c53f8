import CrossEncoder
import Foundation
import Normalization
import RPCServer
import Retrieval
import Terminology
import Wire

/// The `NormalizerService` of `adrnorm serve`: the six methods of docs/PROTOCOL.md §The service
/// over one shared `NormalizationPipeline`. Converts between the wire's
/// Swift messages and the pipeline's types, and the pipeline's errors into
/// wire statuses, each in one place.
///
/// Admission: Score, Normalize and NormalizeStream items are admitted by the
/// pipeline's scoring scheduler, counted in pairs (`--max-queued-pairs`),
/// before any retrieval or tokenization; the calls that score nothing
/// (Retrieve, Info, Health) have their own small bound
/// (`Limits.maxUnscoredCalls`); one client identity holds at most its share of
/// the pair budget (`Limits.maxQueuedPairsPerClient`), charged like the
/// scheduler's only for work that runs the cross-encoder (a `PairCharge` the
/// pipeline takes). Past either, RESOURCE_EXHAUSTED at once.
public final class PipelineService: NormalizerService, @unchecked Sendable {
    /// Facts for Info that the pipeline does not know.
    public struct Description: Sendable {
        public var serverName: String
        public var serverVersion: String
        public var modelName: String
        public var modelIsSynthetic: Bool
        public var dictionaryIsSynthetic: Bool
        /// The server's connection limits, reported by Info (nil: not served
        /// by an `RPCServer` whose limits are known).
        public var connectionLimits: AdrnormV1.ConnectionLimits?
        /// The version, git revision and linked libraries Info reports (nil: none).
        public var build: AdrnormV1.BuildInfo?

        public init(serverName: String = "adrnorm", serverVersion: String, modelName: String,
                    modelIsSynthetic: Bool, dictionaryIsSynthetic: Bool,
                    connectionLimits: AdrnormV1.ConnectionLimits? = nil, build: AdrnormV1.BuildInfo? = nil) {
            self.serverName = serverName
            self.serverVersion = serverVersion
            self.modelName = modelName
            self.modelIsSynthetic = modelIsSynthetic
            self.dictionaryIsSynthetic = dictionaryIsSynthetic
            self.connectionLimits = connectionLimits
            self.build = build
        }
    }

    /// The pipeline new calls run on; `replacePipeline` swaps it (a reload)
    /// while calls already running finish on the one they started with.
    public var pipeline: NormalizationPipeline { pipelineLock.withLock { currentPipeline } }
    private let pipelineLock = NSLock()
    private var currentPipeline: NormalizationPipeline

    /// New calls run on `pipeline` from now on. It must share the current
    /// one's scheduler (`NormalizationPipeline.replacing`): admission
    /// counts in flight stay with it.
    public func replacePipeline(_ pipeline: NormalizationPipeline) {
        pipelineLock.withLock { currentPipeline = pipeline }
    }
    public let description: Description
    /// What one call and one client may ask of the server.
    public struct Limits: Sendable, Equatable {
        /// Pairs one Score may carry, and candidates one Normalize (or
        /// stream item) may score: small enough that a Score response fits
        /// a frame, and that one request cannot hold the scorer for long.
        public var maxPairsPerRequest: Int
        /// Pairs one client identity may have admitted at once, across all
        /// its calls and connections, so no client can take the whole
        /// `--max-queued-pairs` budget; nil: half of it. Only work that runs
        /// the cross-encoder counts, as for the scheduler's budget.
        public var maxQueuedPairsPerClient: Int?
        /// Retrieve, Info and Health calls in progress at once.
        public var maxUnscoredCalls: Int

        public static let defaultMaxPairsPerRequest = 1024
        public static let defaultMaxUnscoredCalls = 256

        public init(maxPairsPerRequest: Int = Limits.defaultMaxPairsPerRequest, maxQueuedPairsPerClient: Int? = nil,
                    maxUnscoredCalls: Int = Limits.defaultMaxUnscoredCalls) {
            self.maxPairsPerRequest = maxPairsPerRequest
            self.maxQueuedPairsPerClient = maxQueuedPairsPerClient
            self.maxUnscoredCalls = maxUnscoredCalls
        }
    }

    public let limits: Limits
    /// The per-client share in effect (the default resolved).
    public let maxQueuedPairsPerClient: Int
    private let unscoredCalls: AdmissionCounts
    private let clientShares: AdmissionCounts

    public init(pipeline: NormalizationPipeline, description: Description, limits: Limits = Limits()) {
        precondition(limits.maxPairsPerRequest >= 1 && limits.maxUnscoredCalls >= 1
                     && (limits.maxQueuedPairsPerClient ?? 1) >= 1, "PipelineService limits must be at least 1")
        self.currentPipeline = pipeline
        self.description = description
        self.limits = limits
        let total = pipeline.configuration.scheduling.maxQueuedPairs
        maxQueuedPairsPerClient = limits.maxQueuedPairsPerClient ?? max(1, total / 2)
        unscoredCalls = AdmissionCounts(limit: limits.maxUnscoredCalls)
        clientShares = AdmissionCounts(limit: maxQueuedPairsPerClient)
    }

    /// The calling client's share of the pair budget, as a charge the
    /// pipeline takes only for work that runs the cross-encoder: a lexical
    /// call, a synonym or cache hit, or a call joined to identical work under
    /// way costs the client nothing.
    private func clientShare(_ context: CallContext) -> PairCharge {
        let client = context.peer?.name ?? ""
        let shares = clientShares
        let share = maxQueuedPairsPerClient
        return PairCharge(
            charge: { pairs in
                guard let held = shares.enter(client, count: pairs) else { return nil }
                return .overloaded("client \"\(client.isEmpty ? "(no certificate)" : client)\" already has \(held) pairs "
                                   + "waiting or being scored; \(pairs) more would pass its share of \(share) "
                                   + "(--max-queued-pairs-per-client); retry when some finish")
            },
            release: { pairs in shares.leave(client, count: pairs) })
    }

    /// Runs a Score call (every pair runs the cross-encoder) inside its
    /// client's share of the pair budget.
    private func withClientShare<T>(_ pairs: Int, _ context: CallContext,
                                    _ body: () async throws(ServiceError) -> T) async throws(ServiceError) -> T {
        // A request over the whole budget is the scheduler's to refuse
        // (its message names --max-queued-pairs).
        guard pairs <= pipeline.configuration.scheduling.maxQueuedPairs else { return try await body() }
        let share = clientShare(context)
        if let refusal = share.charge(pairs) { throw Self.serviceError(refusal) }
        defer { share.release(pairs) }
        return try await body()
    }

    /// Runs a call that scores nothing inside its bound.
    private func unscored<T>(_ body: () throws(ServiceError) -> T) throws(ServiceError) -> T {
        guard unscoredCalls.enter() == nil else {
            throw ServiceError(.resourceExhausted, "server is at capacity: \(limits.maxUnscoredCalls) Retrieve, Info and "
                               + "Health calls already in progress (--max-unscored-calls); retry later")
        }
        defer { unscoredCalls.leave() }
        return try body()
    }

    // MARK: - Methods

    // `top_k` (Retrieve, Normalize, NormalizeStream): 0 is the server's
    // default; a value above the dictionary's PT count is capped to it (every
    // PT is a candidate), as on the command line: `TopK` is the one rule. The
    // wire protocol has no field for it: Retrieve returns the capped number of
    // candidates, Info's defaults.top_k is the capped default, and `adrnorm
    // serve` logs the cap when it starts.

    public func retrieve(_ request: AdrnormV1.RetrieveRequest, context: CallContext) async throws(ServiceError)
        -> AdrnormV1.RetrieveResponse
    {
        try unscored { () throws(ServiceError) in try retrieveNow(request) }
    }

    private func retrieveNow(_ request: AdrnormV1.RetrieveRequest) throws(ServiceError) -> AdrnormV1.RetrieveResponse {
        let pipeline = self.pipeline  // one pipeline for the whole call, whatever a reload does meanwhile
        let template = try Self.template(request.template) ?? pipeline.configuration.defaultTemplate
        let mode = Self.mode(request.mode)
        let hits = try call { () throws(NormalizationError) in
            try pipeline.retrieve(request.mention, topK: request.topK == 0 ? nil : Int(request.topK),
                                  template: template, mode: mode)
        }
        return AdrnormV1.RetrieveResponse(
            candidates: hits.enumerated().map { rank, hit in
                AdrnormV1.RetrievedCandidate(rank: UInt32(rank + 1), term: Self.term(pipeline.dictionary.terms[hit.candidateIndex]),
                                             score: hit.score, retrievalProb: hit.probability)
            },
            template: Self.wire(template), mode: mode == .exact ? .exact : .bm25)
    }

    public func score(_ request: AdrnormV1.ScoreRequest, context: CallContext) async throws(ServiceError)
        -> AdrnormV1.ScoreResponse
    {
        let pipeline = self.pipeline  // one pipeline for the whole call, whatever a reload does meanwhile
        guard !request.pairs.isEmpty else { throw ServiceError(.invalidArgument, "pairs: at least one pair is needed") }
        // Sizes first: nothing is rendered or tokenized for a request over
        // the cap (which keeps every Score response inside one frame).
        guard request.pairs.count <= limits.maxPairsPerRequest else {
            throw ServiceError(.invalidArgument, "pairs: \(request.pairs.count) pairs; at most \(limits.maxPairsPerRequest) "
                               + "per request (Info's max_pairs_per_request): split the request")
        }
        let template = try Self.template(request.template) ?? pipeline.configuration.defaultTemplate
        var pairs: [(mention: String, candidate: NormalizationPipeline.PairCandidate)] = []
        pairs.reserveCapacity(request.pairs.count)
        for (i, pair) in request.pairs.enumerated() {
            switch pair.candidate {
            case .ptCode(let code):
                guard let index = pipeline.dictionary.index(ofPTCode: code) else {
                    throw ServiceError(.invalidArgument, "pairs[\(i)].pt_code: \(code) is not a PT of the dictionary")
                }
                pairs.append((pair.mention, .term(candidateIndex: index)))
            case .text(let text):
                pairs.append((pair.mention, .text(text)))
            case nil:
                throw ServiceError(.invalidArgument, "pairs[\(i)]: neither pt_code nor candidate_text is set")
            }
        }
        let scores: [PairScore] = try await withClientShare(pairs.count, context) { () async throws(ServiceError) in
            do throws(NormalizationError) {
                return try await pipeline.score(pairs: pairs, template: template, deadline: context.deadline,
                                                cancellation: context.cancellation)
            } catch {
                throw Self.serviceError(error)
            }
        }
        Self.record(context, pipeline.dictionary, pairs: pairs.count)
        return AdrnormV1.ScoreResponse(scores: zip(pairs, scores).map { pair, s in
            let text = switch pair.candidate {
            case .term(let index): pipeline.candidateText(candidateIndex: index, template: template)
            case .text(let text): text
            }
            return AdrnormV1.PairScore(logit0: Double(s.notMatchLogit), logit1: Double(s.matchLogit),
                                       prob0: Double(s.notMatchProbability), prob1: Double(s.matchProbability),
                                       candidateText: text)
        }, precision: modelPrecision)
    }

    public func normalize(_ request: AdrnormV1.NormalizeRequest, context: CallContext) async throws(ServiceError)
        -> AdrnormV1.NormalizeResponse
    {
        let pipeline = self.pipeline  // one pipeline for the whole call, whatever a reload does meanwhile
        let scorer: ScorerKind? = switch request.scorer {
        case .unspecified: nil
        case .model: .model
        case .lexical: .lexical
        }
        let normalization = NormalizationRequest(
            id: request.id, mention: request.mention, topK: request.topK == 0 ? nil : Int(request.topK),
            threshold: request.threshold, template: try Self.template(request.template),
            mode: Self.mode(request.mode), scorer: scorer, returnTopScored: Int(request.returnTopScored),
            deadline: context.deadline, cancellation: context.cancellation, pairCharge: clientShare(context))
        // The pairs this request may score: its top_k (capped to the
        // dictionary). The client's share is charged by the pipeline, only
        // if the call runs the cross-encoder.
        let pairCount: Int
        do {
            try pipeline.validateSettings(of: normalization)
            pairCount = try pipeline.resolveTopK(normalization.topK).effective
        } catch {
            throw Self.serviceError(error)
        }
        guard pairCount <= limits.maxPairsPerRequest else {
            throw ServiceError(.invalidArgument, "top_k: \(pairCount) candidates to score; at most "
                               + "\(limits.maxPairsPerRequest) per request (Info's max_pairs_per_request)")
        }
        let r: NormalizationResult
        do {
            r = try await pipeline.normalize(normalization)
        } catch {
            throw Self.serviceError(error)
        }
        Self.record(context, pipeline.dictionary, mentions: 1, pairs: r.scorer == .model && !r.cached ? r.candidates.count : 0,
                    cacheHits: r.cached ? 1 : 0)
        return AdrnormV1.NormalizeResponse(
            id: r.id,
            matches: r.matches.map {
                AdrnormV1.MatchedTerm(term: Self.term($0.term), probability: $0.probability,
                                      retrievalRank: UInt32($0.retrievalRank), llt: $0.llt.map(Self.llt),
                                      source: Self.source($0.source))
            },
            topScored: r.topScored.map {
                AdrnormV1.ScoredCandidate(term: Self.term($0.term), probability: $0.probability,
                                          bm25Score: $0.retrievalScore, retrievalRank: UInt32($0.retrievalRank))
            },
            timings: AdrnormV1.Timings(retrievalMs: Self.ms(r.timings.retrieval), tokenizationMs: Self.ms(r.timings.tokenization),
                                       queueWaitMs: Self.ms(r.timings.queueWait), inferenceMs: Self.ms(r.timings.inference),
                                       totalMs: Self.ms(r.timings.total)),
            scorer: r.scorer == .model ? .model : .lexical, threshold: r.threshold, cached: r.cached,
            precision: r.scorer == .model ? modelPrecision : "", provenance: Self.provenance(r.provenance),
            needsReview: r.needsReview, reviewReason: Self.reviewReason(r.reviewReason))
    }

    /// What the call did, for the server's metrics and audit log.
    private static func record(_ context: CallContext, _ dictionary: CandidateDictionary, mentions: Int = 0, pairs: Int = 0,
                               cacheHits: Int = 0) {
        context.record.add(mentions: mentions, pairs: pairs, cacheHits: cacheHits)
        context.record.setDictionary(version: dictionary.medDRAVersion ?? "", digest: dictionary.digest)
    }

    /// "fp32" or "int8": what every model-scored response says produced it.

    /// The model (and so its precision) is the same across reloads.
    private var modelPrecision: String { pipeline.model?.model.options.precision.rawValue ?? "" }

    public func info(_ request: AdrnormV1.InfoRequest, context: CallContext) async throws(ServiceError)
        -> AdrnormV1.InfoResponse
    {
        try unscored { () throws(ServiceError) in infoNow() }
    }

    private func infoNow() -> AdrnormV1.InfoResponse {
        let pipeline = self.pipeline
        let d = pipeline.dictionary
        let c = pipeline.configuration
        var model: AdrnormV1.ModelInfo? = nil
        if let scorer = pipeline.model {
            let config = scorer.model.config
            var labels: [UInt32: String] = [:]
            for (i, name) in config.labels.enumerated() { labels[UInt32(i)] = name }
            model = AdrnormV1.ModelInfo(name: description.modelName, numLayers: UInt32(config.numHiddenLayers),
                                        hiddenSize: UInt32(config.hiddenSize), maxLength: UInt32(scorer.maxLength),
                                        id2label: labels, matchLabelID: UInt32(config.matchIndex),
                                        weightsSHA256: pipeline.modelDigest ?? "", synthetic: description.modelIsSynthetic,
                                        precision: modelPrecision)
        }
        let cache = pipeline.cacheStatistics
        let coding = pipeline.codingStatistics
        return AdrnormV1.InfoResponse(
            serverName: description.serverName, serverVersion: description.serverVersion, protocolVersion: 1,
            model: model,
            dictionary: AdrnormV1.DictionaryInfo(source: d.source, version: d.medDRAVersion ?? "",
                                                 ptCount: UInt32(d.counts.pts), lltCount: UInt32(d.counts.llts),
                                                 socCount: UInt32(d.counts.socs), digest: d.digest,
                                                 synthetic: description.dictionaryIsSynthetic, lltDigest: d.lltDigest,
                                                 lltCodes: d.hasLLTCodes),
            defaults: AdrnormV1.Defaults(topK: UInt32(pipeline.effectiveDefaultTopK), threshold: c.defaultThreshold,
                                         template: Self.wire(c.defaultTemplate),
                                         scorer: pipeline.defaultScorer == .model ? .model : .lexical,
                                         maxMentionChars: UInt32(c.maxMentionCharacters), maxLength: UInt32(c.maxLength),
                                         maxPairsPerRequest: UInt32(limits.maxPairsPerRequest),
                                         maxQueuedPairs: UInt64(c.scheduling.maxQueuedPairs),
                                         maxQueuedPairsPerClient: UInt64(maxQueuedPairsPerClient),
                                         reviewMargin: c.reviewMargin),
            cache: AdrnormV1.CacheStats(hits: cache.hits, misses: cache.misses, entries: UInt64(cache.entries),
                                        capacity: UInt64(cache.capacity)),
            coding: AdrnormV1.CodingStats(synonymHits: coding.synonymHits, needsReview: coding.needsReview,
                                          synonymsSource: c.synonyms?.source ?? "", synonymsDigest: c.synonyms?.digest ?? "",
                                          synonymsFolding: c.synonyms?.folding.rawValue ?? "",
                                          synonymEntries: UInt32(c.synonyms?.count ?? 0)),
            connectionLimits: description.connectionLimits, build: description.build)
    }

    public func health(_ request: AdrnormV1.HealthRequest, context: CallContext) async throws(ServiceError)
        -> AdrnormV1.HealthResponse
    {
        try unscored { () throws(ServiceError) in AdrnormV1.HealthResponse(status: .serving) }
    }

    // MARK: - Conversions (the only places they happen)

    /// Runs a pipeline call and maps its error to a wire status.
    private func call<T>(_ body: () throws(NormalizationError) -> T) throws(ServiceError) -> T {
        do { return try body() } catch { throw Self.serviceError(error) }
    }

    /// The mapping from the pipeline's errors to wire statuses.
    static func serviceError(_ error: NormalizationError) -> ServiceError {
        switch error {
        case .invalidArgument: ServiceError(.invalidArgument, error.description)
        case .overloaded: ServiceError(.resourceExhausted, error.description)
        case .deadlineExceeded: ServiceError(.deadlineExceeded, error.description)
        case .cancelled: ServiceError(.cancelled, error.description)
        case .failedPrecondition: ServiceError(.failedPrecondition, error.description)
        case .unavailable: ServiceError(.unavailable, error.description)
        case .internal: ServiceError(.internal, error.description)
        }
    }

    static func template(_ t: AdrnormV1.Template) throws(ServiceError) -> CandidateTemplate? {
        switch t {
        case .unspecified: nil
        case .full: .full
        case .ptOnly: .ptOnly
        case .ptLLT: .ptLLT
        }
    }

    static func wire(_ t: CandidateTemplate) -> AdrnormV1.Template {
        switch t {
        case .full: .full
        case .ptOnly: .ptOnly
        case .ptLLT: .ptLLT
        }
    }

    static func mode(_ m: AdrnormV1.RetrievalMode) -> RetrievalMode {
        m == .exact ? .exact : .bm25
    }

    static func term(_ t: PreferredTerm) -> AdrnormV1.PreferredTerm {
        AdrnormV1.PreferredTerm(ptCode: t.ptCode, ptName: t.ptName, lltNames: t.lltNames, hltName: t.hltName,
                                hlgtName: t.hlgtName, socName: t.socName, socCode: t.socCode)
    }

    static func llt(_ l: CodedLLT) -> AdrnormV1.CodedLLT {
        let how: AdrnormV1.LltChoice = switch l.how {
        case .exact: .exact
        case .closest: .closest
        case .ptLLT: .ptLLT
        case .synonym: .synonym
        }
        return AdrnormV1.CodedLLT(lltCode: l.code, lltName: l.name, how: how)
    }

    static func source(_ s: MatchSource) -> AdrnormV1.MatchSource {
        switch s {
        case .model: .model
        case .lexical: .lexical
        case .synonym: .synonym
        }
    }

    static func reviewReason(_ r: Normalization.ReviewReason?) -> AdrnormV1.ReviewReason {
        switch r {
        case nil: .unspecified
        case .noMatch: .noMatch
        case .nearThreshold: .nearThreshold
        }
    }

    static func provenance(_ p: Provenance) -> AdrnormV1.Provenance {
        AdrnormV1.Provenance(meddraVersion: p.medDRAVersion, dictionaryDigest: p.dictionaryDigest, lltDigest: p.lltDigest,
                             weightsSHA256: p.weightsSHA256, precision: p.precision,
                             scorer: p.scorer == .model ? .model : .lexical, template: wire(p.template),
                             mode: p.mode == .exact ? .exact : .bm25, topK: UInt32(p.topK), threshold: p.threshold,
                             reviewMargin: p.reviewMargin, synonymsDigest: p.synonymsDigest,
                             synonymsFolding: p.synonymsFolding)
    }

    static func ms(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }
}
