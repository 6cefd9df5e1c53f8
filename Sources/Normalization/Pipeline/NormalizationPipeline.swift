import CrossEncoder
import Cancellation
import Foundation
import Retrieval
import Terminology

/// The published workflow for every caller (docs/PIPELINE.md §BM25 to §Decoding): retrieve
/// `top_k` candidates, encode the pairs, score them on the shared
/// scheduler, keep every PT with `prob_1 ≥ threshold`.
///
/// Loaded once and shared: the dictionary, one retriever per template, the
/// model, one scoring scheduler (pairs of concurrent callers share its
/// batches) and a mention-level cache of probabilities (so another threshold
/// re-decodes without re-scoring; concurrent identical requests are scored
/// once). Call `shutdown()` before letting the pipeline go.
public final class NormalizationPipeline: @unchecked Sendable {
    public let dictionary: CandidateDictionary
    public let model: PairScorer?
    public let configuration: PipelineConfiguration
    /// SHA-256 of the weights file, hex; nil without a model.
    public let modelDigest: String?
    public let defaultScorer: ScorerKind

    private let retrievers: [CandidateTemplate: RetrieverPool]
    /// WordPiece ids of every candidate text, per template: candidate texts
    /// are fixed, so only the mention is tokenized per request.
    private let candidateTokenIDs: [CandidateTemplate: [[Int32]]]
    private let scheduler: ScoringScheduler<PairEncoding, PairScore>?
    private let cache: LRUCache<CacheKey, CachedScores>

    // In-flight identical requests (single flight), guarded by `lock`.
    private let lock = NSLock()
    private var inFlight: [CacheKey: [Waiter]] = [:]
    private var coding = CodingStatistics()

    /// `model` nil: only the lexical scorer is available.
    public convenience init(dictionary: CandidateDictionary, model: PairScorer?, modelDigest: String? = nil,
                            configuration: PipelineConfiguration = .init()) throws(NormalizationError) {
        try self.init(dictionary: dictionary, model: model, modelDigest: modelDigest, configuration: configuration,
                      sharing: nil)
    }

    /// A pipeline for another dictionary (a reload): the same model,
    /// configuration and scoring scheduler (so admission and batching stay
    /// one), new retrieval indexes and candidate token ids, and an empty
    /// cache, so no result computed for this dictionary is served for the
    /// new one. Calls already running on this pipeline finish on it.
    /// `synonyms` replaces the synonym list (it must be loaded against
    /// `dictionary`).
    public func replacing(dictionary: CandidateDictionary, synonyms: SynonymList?)
        throws(NormalizationError) -> NormalizationPipeline {
        var configuration = self.configuration
        configuration.synonyms = synonyms
        return try NormalizationPipeline(dictionary: dictionary, model: model, modelDigest: modelDigest,
                                         configuration: configuration, sharing: scheduler)
    }

    private init(dictionary: CandidateDictionary, model: PairScorer?, modelDigest: String?,
                 configuration: PipelineConfiguration,
                 sharing sharedScheduler: ScoringScheduler<PairEncoding, PairScore>?) throws(NormalizationError) {
        guard configuration.defaultTopK >= 1 else {
            throw .invalidArgument(field: "top_k", reason: "the default must be at least 1 (got \(configuration.defaultTopK))")
        }
        guard configuration.defaultThreshold >= 0 && configuration.defaultThreshold <= 1 else {
            throw .invalidArgument(field: "threshold", reason: "the default must be in [0, 1]")
        }
        if configuration.defaultScorer == .model && model == nil {
            throw .failedPrecondition("the model scorer needs a model")
        }
        guard configuration.reviewMargin >= 0 && configuration.reviewMargin <= 1 else {
            throw .invalidArgument(field: "review_margin", reason: "must be in [0, 1] (got \(configuration.reviewMargin))")
        }
        if let synonyms = configuration.synonyms, synonyms.dictionaryLLTDigest != dictionary.lltDigest {
            throw .failedPrecondition("the synonym list \(synonyms.source) was loaded against another dictionary")
        }
        if let model, model.model.config.labels.count != 2 {
            throw .failedPrecondition("the cross-encoder must have 2 labels (not_match, match); "
                                      + "its config has \(model.model.config.labels.count): \(model.model.config.labels)")
        }
        self.dictionary = dictionary
        self.model = model
        self.configuration = configuration
        self.modelDigest = modelDigest
        self.defaultScorer = configuration.defaultScorer ?? (model == nil ? .lexical : .model)
        var pools: [CandidateTemplate: RetrieverPool] = [:]
        for template in CandidateTemplate.allCases {
            pools[template] = RetrieverPool(CandidateRetriever(dictionary: dictionary, template: template))
        }
        retrievers = pools
        var tokenIDs: [CandidateTemplate: [[Int32]]] = [:]
        if let model {
            for (template, pool) in pools { tokenIDs[template] = pool.retriever.texts.map(model.tokenizer.tokenIDs) }
        }
        candidateTokenIDs = tokenIDs
        if let sharedScheduler {
            scheduler = sharedScheduler
        } else if let model {
            scheduler = ScoringScheduler(configuration: configuration.scheduling, tokenCount: { $0.count }) { batch in
                try model.score(PackedBatch(batch))
            }
        } else {
            scheduler = nil
        }
        cache = LRUCache(capacity: configuration.cacheCapacity)
    }

    /// Stops the scoring threads; queued work fails with UNAVAILABLE.
    public func shutdown() {
        scheduler?.shutdown()
    }

    public var cacheStatistics: LRUCache<CacheKey, CachedScores>.Statistics { cache.statistics }

    public var schedulerStatistics: ScoringScheduler<PairEncoding, PairScore>.Statistics? { scheduler?.statistics }

    /// Results delivered since start: synonym-list hits and results flagged for review.
    public struct CodingStatistics: Sendable, Equatable {
        public var synonymHits: UInt64 = 0
        public var needsReview: UInt64 = 0
    }

    public var codingStatistics: CodingStatistics {
        lock.lock()
        defer { lock.unlock() }
        return coding
    }

    /// What a result under these settings is produced with (`Provenance`).
    public func provenance(scorer: ScorerKind, template: CandidateTemplate, mode: RetrievalMode, topK: Int,
                           threshold: Double) -> Provenance {
        let scored = scorer == .model
        return Provenance(medDRAVersion: dictionary.medDRAVersion ?? "", dictionaryDigest: dictionary.digest,
                          lltDigest: dictionary.lltDigest, weightsSHA256: scored ? modelDigest ?? "" : "",
                          precision: scored ? model?.model.options.precision.rawValue ?? "" : "",
                          scorer: scorer, template: template, mode: mode, topK: topK, threshold: threshold,
                          reviewMargin: configuration.reviewMargin,
                          synonymsDigest: configuration.synonyms?.digest ?? "",
                          synonymsFolding: configuration.synonyms?.folding.rawValue ?? "")
    }

    /// The candidate text of a PT under `template`.
    public func candidateText(candidateIndex: Int, template: CandidateTemplate) -> String {
        retrievers[template]!.retriever.texts[candidateIndex]
    }

    // MARK: - Validation

    /// Checks a mention as docs/PROTOCOL.md §The service requires; returns it unchanged.
    public func validateMention(_ mention: String, field: String = "mention") throws(NormalizationError) -> String {
        if mention.trimmingPythonWhitespace.isEmpty {
            throw .invalidArgument(field: field, reason: "empty or whitespace only")
        }
        let length = mention.unicodeScalars.count
        if length > configuration.maxMentionCharacters {
            throw .invalidArgument(field: field, reason: "\(length) characters; the limit is \(configuration.maxMentionCharacters)")
        }
        return mention
    }

    /// `top_k` as this pipeline applies it (nil: the default); see `TopK`
    /// for the rule (at least 1; above the dictionary's PT count, capped).
    public func resolveTopK(_ topK: Int?) throws(NormalizationError) -> TopK {
        try TopK.resolve(topK, default: configuration.defaultTopK, dictionarySize: dictionary.terms.count)
    }

    /// The `top_k` a request that leaves it unset gets (the default, capped
    /// to the dictionary's PT count).
    public var effectiveDefaultTopK: Int {
        min(configuration.defaultTopK, dictionary.terms.count)
    }

    /// Checks the request-wide settings of a request without a mention
    /// (`top_k`, `threshold`, `scorer`, `return_top_scored`), so that a batch
    /// caller can refuse bad settings before reading its input; throws what
    /// `normalize` would throw for each request.
    public func validateSettings(of request: NormalizationRequest) throws(NormalizationError) {
        _ = try resolveTopK(request.topK)
        _ = try resolvedThreshold(request.threshold)
        _ = try resolvedScorer(request.scorer)
        guard request.returnTopScored >= 0 else {
            throw .invalidArgument(field: "return_top_scored", reason: "must not be negative")
        }
    }

    func resolvedTopK(_ topK: Int?) throws(NormalizationError) -> Int {
        try resolveTopK(topK).effective
    }

    func resolvedThreshold(_ threshold: Double?) throws(NormalizationError) -> Double {
        let t = threshold ?? configuration.defaultThreshold
        guard t >= 0 && t <= 1 else {   // false for NaN too
            throw .invalidArgument(field: "threshold", reason: "must be a number in [0, 1] (got \(t))")
        }
        return t
    }

    func resolvedScorer(_ scorer: ScorerKind?) throws(NormalizationError) -> ScorerKind {
        let s = scorer ?? defaultScorer
        if s == .model && model == nil {
            throw .failedPrecondition("scorer model: this server has no cross-encoder; use scorer lexical")
        }
        return s
    }

    // MARK: - Retrieval

    /// Stage 1 alone: the top-k candidates of a mention.
    public func retrieve(_ mention: String, topK: Int? = nil, template: CandidateTemplate? = nil,
                         mode: RetrievalMode = .bm25) throws(NormalizationError) -> [RetrievalHit] {
        let text = try validateMention(mention)
        let k = try resolvedTopK(topK)
        return try retrieverPool(template).retrieve(text, mode: mode, topK: k)
    }

    private func retrieverPool(_ template: CandidateTemplate?) -> RetrieverPool {
        retrievers[template ?? configuration.defaultTemplate]!
    }

    // MARK: - Pair scoring

    /// The candidate side of a pair to score: a PT of the dictionary
    /// (rendered with the request's template; its tokens are precomputed) or
    /// free text.
    public enum PairCandidate: Sendable, Equatable {
        case term(candidateIndex: Int)
        case text(String)
    }

    /// Scores free (mention, candidate text) pairs on the shared scheduler.
    public func score(pairs: [(mention: String, candidate: String)], deadline: ContinuousClock.Instant? = nil,
                      cancellation: CancellationToken? = nil,
                      completion: @escaping @Sendable (Result<[PairScore], NormalizationError>) -> Void) {
        score(pairs: pairs.map { ($0.mention, PairCandidate.text($0.candidate)) }, template: nil, deadline: deadline,
              cancellation: cancellation, completion: completion)
    }

    /// Scores (mention, candidate) pairs on the shared scheduler. The pairs
    /// are admitted (or refused as overloaded) before any is validated or
    /// tokenized; each distinct mention and candidate text is tokenized once
    /// per request, and dictionary candidates not at all. Cancellation is
    /// checked while tokenizing. `completion` is called exactly once.
    public func score(pairs: [(mention: String, candidate: PairCandidate)], template: CandidateTemplate?,
                      deadline: ContinuousClock.Instant? = nil, cancellation: CancellationToken? = nil,
                      completion: @escaping @Sendable (Result<[PairScore], NormalizationError>) -> Void) {
        guard let model, let scheduler else {
            completion(.failure(.failedPrecondition("this server has no cross-encoder to score pairs with")))
            return
        }
        let reservation: ScoringScheduler<PairEncoding, PairScore>.Reservation
        do {
            reservation = try scheduler.reserve(pairs.count)
        } catch {
            completion(.failure(NormalizationError(error)))
            return
        }
        let termIDs = candidateTokenIDs[template ?? configuration.defaultTemplate]!
        var encodings: [PairEncoding] = []
        encodings.reserveCapacity(pairs.count)
        var mentionIDs: [String: [Int32]] = [:]
        var textIDs: [String: [Int32]] = [:]
        do {
            for (i, pair) in pairs.enumerated() {
                if i % 256 == 0, cancellation?.isCancelled == true { throw NormalizationError.cancelled }
                _ = try validateMention(pair.mention, field: "pairs[\(i)].mention")
                let first = mentionIDs[pair.mention] ?? model.tokenizer.tokenIDs(pair.mention)
                mentionIDs[pair.mention] = first
                let second: [Int32]
                switch pair.candidate {
                case .term(let index):
                    second = termIDs[index]
                case .text(let text):
                    if text.trimmingPythonWhitespace.isEmpty {
                        throw NormalizationError.invalidArgument(field: "pairs[\(i)].candidate", reason: "empty or whitespace only")
                    }
                    second = textIDs[text] ?? model.tokenizer.tokenIDs(text)
                    textIDs[text] = second
                }
                encodings.append(try model.tokenizer.encode(ids: first, second, maxLength: model.maxLength))
            }
        } catch {
            scheduler.release(reservation)
            completion(.failure(error as? NormalizationError ?? .internal("\(error)")))
            return
        }
        do {
            try scheduler.submit(encodings, reservation: reservation, deadline: deadline, cancellation: cancellation) {
                result, _ in completion(result.mapError(NormalizationError.init))
            }
        } catch {
            completion(.failure(NormalizationError(error)))
        }
    }

    /// `score(pairs:template:)` for async callers (the server): no thread waits.
    public func score(pairs: [(mention: String, candidate: PairCandidate)], template: CandidateTemplate?,
                      deadline: ContinuousClock.Instant? = nil,
                      cancellation: CancellationToken? = nil) async throws(NormalizationError) -> [PairScore] {
        let result = await withCheckedContinuation { continuation in
            score(pairs: pairs, template: template, deadline: deadline, cancellation: cancellation) {
                continuation.resume(returning: $0)
            }
        }
        return try result.get()
    }

    // MARK: - Normalization

    /// Runs the pipeline for one request; `completion` is called exactly
    /// once, on the caller's thread or a scoring thread.
    public func normalize(_ request: NormalizationRequest,
                          completion: @escaping @Sendable (Result<NormalizationResult, NormalizationError>) -> Void) {
        let started = ContinuousClock.now
        let plan: Plan
        do {
            plan = try makePlan(request)
        } catch {
            completion(.failure(error))
            return
        }
        if let synonyms = configuration.synonyms, let entry = synonyms.lookup(plan.key.mention) {
            completion(.success(synonymResult(entry, plan: plan, request: request, started: started)))
            return
        }
        let waiter = Waiter(request: request, plan: plan, started: started, completion: completion)
        if let cached = cache.value(forKey: plan.key) {
            finish(waiter, with: .success(cached), cached: true, timings: NormalizationTimings())
            return
        }
        // Single flight: identical work already under way is joined. A
        // leader that will score is admitted (its top_k pairs) before any
        // retrieval or tokenization, so overload costs nothing.
        var reservation: ScoringScheduler<PairEncoding, PairScore>.Reservation? = nil
        lock.lock()
        if inFlight[plan.key] != nil {
            inFlight[plan.key]!.append(waiter)
            lock.unlock()
            return
        }
        // The caller's own budget is charged for a leader that will score
        // (and only for it), before the scheduler's. Its closures run under
        // `lock`: they must not call back into the pipeline.
        var charged: PairCharge? = nil
        if plan.key.scorer == .model, let scheduler {
            // A request over the scheduler's whole bound is the scheduler's
            // to refuse (its message names the bound).
            if let charge = request.pairCharge, plan.key.topK <= configuration.scheduling.maxQueuedPairs {
                if let refusal = charge.charge(plan.key.topK) {
                    lock.unlock()
                    completion(.failure(refusal))
                    return
                }
                charged = charge
            }
            do {
                reservation = try scheduler.reserve(plan.key.topK)
            } catch {
                lock.unlock()
                charged?.release(plan.key.topK)
                completion(.failure(NormalizationError(error)))
                return
            }
        }
        inFlight[plan.key] = [waiter]
        lock.unlock()
        compute(plan, request: request, reservation: reservation) { [self, charged] result, timings in
            charged?.release(plan.key.topK)
            lock.lock()
            let waiters = inFlight.removeValue(forKey: plan.key) ?? []
            lock.unlock()
            if case .success(let scores) = result { cache.insert(scores, forKey: plan.key) }
            for (i, w) in waiters.enumerated() {
                switch result {
                case .failure(let error) where i > 0 && (error == .cancelled || error == .deadlineExceeded):
                    // The leader gave up; a joined request has its own
                    // deadline and cancellation, so it runs on its own,
                    // off this (scoring) thread: its retrieval and
                    // tokenization must not hold up the batches.
                    DispatchQueue.global(qos: .userInitiated).async { self.normalize(w.request, completion: w.completion) }
                default:
                    finish(w, with: result, cached: i > 0, timings: timings)
                }
            }
        }
    }

    /// `normalize` for async callers (the server): no thread waits.
    public func normalize(_ request: NormalizationRequest) async throws(NormalizationError) -> NormalizationResult {
        let result = await withCheckedContinuation { continuation in
            normalize(request) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Blocking form of `normalize`, for callers on their own threads.
    public func normalizeAndWait(_ request: NormalizationRequest) throws(NormalizationError) -> NormalizationResult {
        let box = Box<Result<NormalizationResult, NormalizationError>>()
        normalize(request) { box.set($0) }
        return try box.wait().get()
    }

    /// Blocking form of `score(pairs:)`.
    public func scoreAndWait(pairs: [(mention: String, candidate: String)], deadline: ContinuousClock.Instant? = nil,
                             cancellation: CancellationToken? = nil)
        throws(NormalizationError) -> [PairScore]
    {
        let box = Box<Result<[PairScore], NormalizationError>>()
        score(pairs: pairs, deadline: deadline, cancellation: cancellation) { box.set($0) }
        return try box.wait().get()
    }

    // MARK: - Internals

    /// The cache key: everything the probabilities depend on (the threshold
    /// only decodes them).
    public struct CacheKey: Hashable, Sendable {
        var mention: String
        var topK: Int
        var template: CandidateTemplate
        var mode: RetrievalMode
        var scorer: ScorerKind
        var modelDigest: String
        var dictionaryDigest: String
    }

    /// Threshold-independent results of one mention: retrieval order.
    public struct CachedScores: Sendable {
        var hits: [RetrievalHit]
        var scores: [PairScore]?   // nil for the lexical scorer
    }

    struct Plan: Sendable {
        var key: CacheKey
        var threshold: Double
        var returnTopScored: Int
    }

    private struct Waiter: Sendable {
        var request: NormalizationRequest
        var plan: Plan
        var started: ContinuousClock.Instant
        var completion: @Sendable (Result<NormalizationResult, NormalizationError>) -> Void
    }

    private func makePlan(_ request: NormalizationRequest) throws(NormalizationError) -> Plan {
        let mention = try validateMention(request.mention)
        let topK = try resolvedTopK(request.topK)
        let threshold = try resolvedThreshold(request.threshold)
        let scorer = try resolvedScorer(request.scorer)
        guard request.returnTopScored >= 0 else {
            throw .invalidArgument(field: "return_top_scored", reason: "must not be negative")
        }
        let key = CacheKey(mention: mention, topK: topK, template: request.template ?? configuration.defaultTemplate,
                           mode: request.mode ?? .bm25, scorer: scorer, modelDigest: modelDigest ?? "",
                           dictionaryDigest: dictionary.digest)
        return Plan(key: key, threshold: threshold, returnTopScored: min(request.returnTopScored, topK))
    }

    /// Retrieval, tokenization and scoring of one leader request.
    /// `reservation` (model scorer only) is submitted or released here.
    private func compute(_ plan: Plan, request: NormalizationRequest,
                         reservation: ScoringScheduler<PairEncoding, PairScore>.Reservation?,
                         completion: @escaping @Sendable (Result<CachedScores, NormalizationError>, NormalizationTimings) -> Void) {
        var released = false
        func giveBack() {
            if let reservation, !released { scheduler?.release(reservation); released = true }
        }
        var timings = NormalizationTimings()
        let key = plan.key
        let t0 = ContinuousClock.now
        let hits: [RetrievalHit]
        do {
            hits = try retrieverPool(key.template).retrieve(key.mention, mode: key.mode, topK: key.topK)
        } catch {
            giveBack()
            completion(.failure(error), timings)
            return
        }
        timings.retrieval = ContinuousClock.now - t0
        guard key.scorer == .model, let model, let scheduler else {
            giveBack()
            completion(.success(CachedScores(hits: hits, scores: nil)), timings)
            return
        }
        if request.cancellation?.isCancelled == true {
            giveBack()
            completion(.failure(.cancelled), timings)
            return
        }
        let t1 = ContinuousClock.now
        var encodings: [PairEncoding] = []
        encodings.reserveCapacity(hits.count)
        let candidateIDs = candidateTokenIDs[key.template]!
        let mentionIDs = model.tokenizer.tokenIDs(key.mention)
        do {
            for hit in hits {
                encodings.append(try model.tokenizer.encode(ids: mentionIDs, candidateIDs[hit.candidateIndex],
                                                            maxLength: model.maxLength))
            }
        } catch {
            giveBack()
            completion(.failure(.internal("tokenization failed: \(error)")), timings)
            return
        }
        timings.tokenization = ContinuousClock.now - t1
        let before = timings
        do {
            released = true   // submit gives the reservation back whatever happens
            try scheduler.submit(encodings, reservation: reservation, deadline: request.deadline,
                                 cancellation: request.cancellation) { result, s in
                var t = before
                t.queueWait = s.queueWait
                t.inference = s.inference
                completion(result.map { CachedScores(hits: hits, scores: $0) }.mapError(NormalizationError.init), t)
            }
        } catch {
            completion(.failure(NormalizationError(error)), timings)
        }
    }

    private func finish(_ waiter: Waiter, with result: Result<CachedScores, NormalizationError>, cached: Bool,
                        timings: NormalizationTimings) {
        switch result {
        case .failure(let error):
            waiter.completion(.failure(error))
        case .success(let scores):
            var t = timings
            t.total = ContinuousClock.now - waiter.started
            waiter.completion(.success(decode(scores, plan: waiter.plan, id: waiter.request.id,
                                              mention: waiter.request.mention, cached: cached, timings: t)))
        }
    }

    /// A mention the synonym list codes: its LLT's PT, probability 1, no
    /// retrieval (rank 0) and no scoring.
    private func synonymResult(_ entry: SynonymList.Entry, plan: Plan, request: NormalizationRequest,
                               started: ContinuousClock.Instant) -> NormalizationResult {
        let key = plan.key
        let match = ScoredCandidate(candidateIndex: entry.candidateIndex, term: dictionary.terms[entry.candidateIndex],
                                    retrievalRank: 0, retrievalScore: 0, retrievalProbability: 0, probability: 1,
                                    score: nil, llt: CodedLLT(code: entry.llt.code, name: entry.llt.name, how: .synonym),
                                    source: .synonym)
        var timings = NormalizationTimings()
        timings.total = ContinuousClock.now - started
        lock.lock()
        coding.synonymHits += 1
        lock.unlock()
        return NormalizationResult(id: request.id, mention: request.mention, scorer: key.scorer, template: key.template,
                                   mode: key.mode, threshold: plan.threshold, matches: [match],
                                   topScored: plan.returnTopScored > 0 ? [match] : [], candidates: [match],
                                   timings: timings, cached: false, reviewReason: nil,
                                   provenance: provenance(scorer: key.scorer, template: key.template, mode: key.mode,
                                                          topK: key.topK, threshold: plan.threshold))
    }

    /// Applies the threshold to cached probabilities.
    func decode(_ scores: CachedScores, plan: Plan, id: String, mention: String, cached: Bool,
                timings: NormalizationTimings) -> NormalizationResult {
        let key = plan.key
        var candidates: [ScoredCandidate] = []
        candidates.reserveCapacity(scores.hits.count)
        for (i, hit) in scores.hits.enumerated() {
            let probability: Double
            let score = scores.scores?[i]
            if let score {
                probability = Double(score.matchProbability)
            } else {
                probability = key.mode == .exact ? hit.score : hit.probability
            }
            candidates.append(ScoredCandidate(candidateIndex: hit.candidateIndex, term: dictionary.terms[hit.candidateIndex],
                                              retrievalRank: i + 1, retrievalScore: hit.score,
                                              retrievalProbability: hit.probability, probability: probability,
                                              score: score, source: key.scorer == .model ? .model : .lexical))
        }
        // Best first; ties keep retrieval order.
        let ranked = candidates.enumerated().sorted { a, b in
            a.element.probability != b.element.probability ? a.element.probability > b.element.probability : a.offset < b.offset
        }.map(\.element)
        // The matches are decided above; coding only adds each one's LLT.
        let matches = ranked.filter { $0.probability >= plan.threshold }.map { m in
            var coded = m
            coded.llt = dictionary.codingLLT(candidateIndex: m.candidateIndex, mention: mention)
            return coded
        }
        let review = ReviewReason.evaluate(probabilities: candidates.map(\.probability), threshold: plan.threshold,
                                           margin: configuration.reviewMargin)
        if review != nil {
            lock.lock()
            coding.needsReview += 1
            lock.unlock()
        }
        return NormalizationResult(id: id, mention: mention, scorer: key.scorer, template: key.template, mode: key.mode,
                                   threshold: plan.threshold, matches: matches,
                                   topScored: Array(ranked.prefix(plan.returnTopScored)),
                                   candidates: candidates, timings: timings, cached: cached, reviewReason: review,
                                   provenance: provenance(scorer: key.scorer, template: key.template, mode: key.mode,
                                                          topK: key.topK, threshold: plan.threshold))
    }
}

/// Retrieval sessions (scratch buffers) reused across threads.
final class RetrieverPool: @unchecked Sendable {
    let retriever: CandidateRetriever
    // Guarded by `lock`.
    private let lock = NSLock()
    private var idle: [CandidateRetriever.Session] = []

    init(_ retriever: CandidateRetriever) { self.retriever = retriever }

    func retrieve(_ mention: String, mode: RetrievalMode, topK: Int) throws(NormalizationError) -> [RetrievalHit] {
        lock.lock()
        let session = idle.popLast() ?? retriever.session()
        lock.unlock()
        defer {
            lock.lock()
            idle.append(session)
            lock.unlock()
        }
        do {
            return try session.retrieve(mention, mode: mode, topK: topK)
        } catch {
            switch error {
            case .emptyMention: throw .invalidArgument(field: "mention", reason: "empty or whitespace only")
            case .invalidTopK(let k): throw .invalidArgument(field: "top_k", reason: "must be at least 1 (got \(k))")
            }
        }
    }
}

/// A value set once by one thread and awaited by another.
final class Box<Value: Sendable>: @unchecked Sendable {
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var value: Value?

    func set(_ v: Value) {
        condition.lock()
        value = v
        condition.broadcast()
        condition.unlock()
    }

    func wait() -> Value {
        condition.lock()
        defer { condition.unlock() }
        while value == nil { condition.wait() }
        return value!
    }
}
