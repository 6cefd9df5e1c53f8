import Cancellation
import CrossEncoder
import Foundation
import Retrieval
import Terminology

/// What produces a normalization's probabilities.
public enum ScorerKind: String, Sendable, CaseIterable {
    /// The cross-encoder's `prob_1`.
    case model
    /// The published retrieval-only baselines: the BM25 ratio
    /// (`retrieval_prob`), or 1/0 for exact alias matches in exact mode.
    case lexical
}

/// One mention to normalize. Optional fields take the pipeline's defaults.
public struct NormalizationRequest: Sendable {
    public var id: String
    public var mention: String
    public var topK: Int?
    public var threshold: Double?
    public var template: CandidateTemplate?
    public var mode: RetrievalMode?
    public var scorer: ScorerKind?
    /// How many of the best scored candidates to return (0: none).
    public var returnTopScored: Int
    public var deadline: ContinuousClock.Instant?
    public var cancellation: CancellationToken?
    /// The caller's own budget for the pairs this request scores (the
    /// server's per-client share), charged only when the request will run the
    /// cross-encoder; nil: none.
    public var pairCharge: PairCharge?

    public init(id: String = "", mention: String, topK: Int? = nil, threshold: Double? = nil,
                template: CandidateTemplate? = nil, mode: RetrievalMode? = nil, scorer: ScorerKind? = nil,
                returnTopScored: Int = 0, deadline: ContinuousClock.Instant? = nil,
                cancellation: CancellationToken? = nil, pairCharge: PairCharge? = nil) {
        self.id = id
        self.mention = mention
        self.topK = topK
        self.threshold = threshold
        self.template = template
        self.mode = mode
        self.scorer = scorer
        self.returnTopScored = returnTopScored
        self.deadline = deadline
        self.cancellation = cancellation
        self.pairCharge = pairCharge
    }
}

/// A budget that a request's pairs are charged to, besides the scheduler's
/// `maxQueuedPairs`. The pipeline charges it only for work that runs the
/// cross-encoder: a request that leads its scoring (not one answered by the
/// synonym list or the cache, not one joined to identical work under way, not
/// one under the lexical scorer), with its top_k pairs, just before the
/// scheduler admits them; it releases them when that scoring ends, however
/// it ends.
public struct PairCharge: Sendable {
    /// Takes `pairs` from the budget; the error (`.overloaded`) refuses the
    /// request, nil admits it.
    public var charge: @Sendable (_ pairs: Int) -> NormalizationError?
    /// Gives back what `charge` took.
    public var release: @Sendable (_ pairs: Int) -> Void

    public init(charge: @escaping @Sendable (_ pairs: Int) -> NormalizationError?,
                release: @escaping @Sendable (_ pairs: Int) -> Void) {
        self.charge = charge
        self.release = release
    }
}

/// What decided that a PT matches.
public enum MatchSource: String, Sendable, CaseIterable {
    /// The cross-encoder's probability reached the threshold.
    case model
    /// The lexical (retrieval-only) score reached the threshold.
    case lexical
    /// The company synonym list maps the mention to an LLT of this PT (no scoring).
    case synonym
}

/// Why a result needs a human coder.
public enum ReviewReason: String, Sendable, CaseIterable {
    /// No PT reached the threshold.
    case noMatch = "no_match"
    /// A retrieved candidate's probability lies within the review margin of
    /// the threshold (a match that nearly missed, or a miss that nearly matched).
    case nearThreshold = "near_threshold"

    /// The rule: `noMatch` when nothing matched; else `nearThreshold` when
    /// some probability p has |p − threshold| ≤ margin; else nil.
    public static func evaluate(probabilities: [Double], threshold: Double, margin: Double) -> ReviewReason? {
        if !probabilities.contains(where: { $0 >= threshold }) { return .noMatch }
        if probabilities.contains(where: { abs($0 - threshold) <= margin }) { return .nearThreshold }
        return nil
    }
}

/// What a coded result was produced with: enough to reproduce it.
public struct Provenance: Sendable, Equatable {
    /// The dictionary's MedDRA version ("" when unknown: a CSV without
    /// `--dictionary-version`).
    public var medDRAVersion: String
    /// SHA-256 of the candidate list (`CandidateDictionary.digest`).
    public var dictionaryDigest: String
    /// SHA-256 of the LLT coding table (`CandidateDictionary.lltDigest`).
    public var lltDigest: String
    /// SHA-256 of `model.safetensors` (as `sha256sum` prints it) under the
    /// model scorer; "" under the lexical scorer.
    public var weightsSHA256: String
    /// "fp32" or "int8" under the model scorer; "" under the lexical scorer.
    public var precision: String
    public var scorer: ScorerKind
    public var template: CandidateTemplate
    public var mode: RetrievalMode
    public var topK: Int
    public var threshold: Double
    public var reviewMargin: Double
    /// SHA-256 of the synonym list file; "" without one.
    public var synonymsDigest: String
    /// How verbatims were compared ("" without a synonym list).
    public var synonymsFolding: String

    public init(medDRAVersion: String, dictionaryDigest: String, lltDigest: String, weightsSHA256: String,
                precision: String, scorer: ScorerKind, template: CandidateTemplate, mode: RetrievalMode, topK: Int,
                threshold: Double, reviewMargin: Double, synonymsDigest: String, synonymsFolding: String) {
        self.medDRAVersion = medDRAVersion
        self.dictionaryDigest = dictionaryDigest
        self.lltDigest = lltDigest
        self.weightsSHA256 = weightsSHA256
        self.precision = precision
        self.scorer = scorer
        self.template = template
        self.mode = mode
        self.topK = topK
        self.threshold = threshold
        self.reviewMargin = reviewMargin
        self.synonymsDigest = synonymsDigest
        self.synonymsFolding = synonymsFolding
    }
}

/// A retrieved candidate with its probability.
public struct ScoredCandidate: Sendable, Equatable {
    /// Index into the dictionary's terms (candidate order).
    public var candidateIndex: Int
    public var term: PreferredTerm
    /// 1-based BM25 (or exact) rank.
    public var retrievalRank: Int
    /// BM25 score (1/0 in exact mode).
    public var retrievalScore: Double
    /// Retrieval score / best retrieval score among the retrieved.
    public var retrievalProbability: Double
    /// `prob_1` (model) or the lexical score (see `ScorerKind`).
    public var probability: Double
    /// The cross-encoder's scores (model scorer only).
    public var score: PairScore?
    /// The LLT to code this PT with (set on matches only).
    public var llt: CodedLLT? = nil
    public var source: MatchSource = .model
}

public struct NormalizationTimings: Sendable, Equatable {
    public var retrieval: Duration = .zero
    public var tokenization: Duration = .zero
    public var queueWait: Duration = .zero
    public var inference: Duration = .zero
    public var total: Duration = .zero

    public init() {}
}

/// The outcome of one mention (docs/PIPELINE.md §BM25 to §Decoding).
public struct NormalizationResult: Sendable {
    public var id: String
    public var mention: String
    public var scorer: ScorerKind
    public var template: CandidateTemplate
    public var mode: RetrievalMode
    public var threshold: Double
    /// Every candidate with probability ≥ threshold, best first (ties by
    /// retrieval rank). Possibly empty, possibly several.
    public var matches: [ScoredCandidate]
    /// The best `returnTopScored` candidates, best first.
    public var topScored: [ScoredCandidate]
    /// Every retrieved candidate, in retrieval order, with its probability.
    public var candidates: [ScoredCandidate]
    public var timings: NormalizationTimings
    /// The probabilities came from the result cache.
    public var cached: Bool
    /// Set when a human coder should look at the result.
    public var reviewReason: ReviewReason?
    public var needsReview: Bool { reviewReason != nil }
    public var provenance: Provenance
}

/// Errors of the normalization layer; the RPC layer maps each to one wire
/// status (INVALID_ARGUMENT, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED,
/// CANCELLED, FAILED_PRECONDITION, UNAVAILABLE, INTERNAL).
public enum NormalizationError: Error, Equatable, CustomStringConvertible {
    /// A request field is out of range; `field` is its wire name.
    case invalidArgument(field: String, reason: String)
    /// Too much work queued: retry later.
    case overloaded(String)
    case deadlineExceeded
    case cancelled
    /// The request needs something this pipeline was not given (a model).
    case failedPrecondition(String)
    /// The pipeline is shutting down.
    case unavailable(String)
    /// A bug or a broken model file.
    case `internal`(String)

    public var description: String {
        switch self {
        case .invalidArgument(let field, let reason): "\(field): \(reason)"
        case .overloaded(let message): message
        case .deadlineExceeded: "deadline exceeded"
        case .cancelled: "cancelled"
        case .failedPrecondition(let message): message
        case .unavailable(let message): message
        case .internal(let message): "internal error: \(message)"
        }
    }

    init(_ error: SchedulingError) {
        switch error {
        case .overloaded: self = .overloaded(error.description)
        case .deadlineExceeded: self = .deadlineExceeded
        case .cancelled: self = .cancelled
        case .scoringFailed(let message): self = .internal(message)
        case .shutDown: self = .unavailable("the scoring scheduler is shut down")
        }
    }
}

/// The pipeline's knobs; every default is documented in README.md.
public struct PipelineConfiguration: Sendable {
    public var defaultTopK = NormalizationDefaults.topK
    public var defaultThreshold = NormalizationDefaults.threshold
    public var defaultTemplate = NormalizationDefaults.template
    /// nil: `model` when the pipeline has a model, else `lexical`.
    public var defaultScorer: ScorerKind?
    /// Longest mention accepted, in Unicode code points.
    public var maxMentionCharacters = NormalizationDefaults.maxMentionCharacters
    /// Pair encoding length (docs/PIPELINE.md §Tokenization).
    public var maxLength = 64
    public var scheduling = ScoringSchedulerConfiguration()
    /// Mention-level results kept (0 disables the cache).
    public var cacheCapacity = 10_000
    /// See `ReviewReason.nearThreshold`; in [0, 1].
    public var reviewMargin = NormalizationDefaults.reviewMargin
    /// A company synonym list, loaded against the same dictionary: a mention
    /// it lists is coded to its LLT without scoring. nil: none.
    public var synonyms: SynonymList?

    public init() {}
}
