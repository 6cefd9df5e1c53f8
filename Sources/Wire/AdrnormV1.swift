/// Swift values mirroring `Protos/adrnorm/v1/normalizer.proto`: the
/// requests and responses of the `adrnorm.v1.Normalizer` service. Each
/// message converts to and from protobuf bytes (`serializedBytes()` /
/// `init(serializedBytes:)`) through protobuf-c inside this module; the
/// C structs never leave it. Decoding rejects invalid UTF-8 and unknown enum
/// values with `INVALID_ARGUMENT` naming the field.
public enum AdrnormV1 {
    /// How a candidate PT is rendered to text (docs/PIPELINE.md §Templates).
    public enum Template: UInt32, Sendable, CaseIterable {
        case unspecified = 0, full = 1, ptOnly = 2, ptLLT = 3
    }

    /// How candidates are retrieved (docs/PIPELINE.md §BM25, §Exact mode).
    public enum RetrievalMode: UInt32, Sendable, CaseIterable {
        case unspecified = 0, bm25 = 1, exact = 2
    }

    /// What produces the probabilities of a normalization.
    public enum Scorer: UInt32, Sendable, CaseIterable {
        case unspecified = 0, model = 1, lexical = 2
    }

    /// A MedDRA Preferred Term with its primary-SOC hierarchy.
    public struct PreferredTerm: Equatable, Sendable {
        public var ptCode: String
        public var ptName: String
        public var lltNames: [String]
        public var hltName: String
        public var hlgtName: String
        public var socName: String
        public var socCode: String

        public init(ptCode: String = "", ptName: String = "", lltNames: [String] = [], hltName: String = "",
                    hlgtName: String = "", socName: String = "", socCode: String = "") {
            self.ptCode = ptCode; self.ptName = ptName; self.lltNames = lltNames; self.hltName = hltName
            self.hlgtName = hlgtName; self.socName = socName; self.socCode = socCode
        }
    }

    /// BM25 (or exact) top-k candidates for one mention.
    public struct RetrieveRequest: Equatable, Sendable {
        public var mention: String
        public var topK: UInt32
        public var template: Template
        public var mode: RetrievalMode

        public init(mention: String = "", topK: UInt32 = 0, template: Template = .unspecified,
                    mode: RetrievalMode = .unspecified) {
            self.mention = mention; self.topK = topK; self.template = template; self.mode = mode
        }
    }

    /// One retrieved PT: its 1-based rank, BM25 score and score / max score.
    public struct RetrievedCandidate: Equatable, Sendable {
        public var rank: UInt32
        public var term: PreferredTerm?
        public var score: Double
        public var retrievalProb: Double

        public init(rank: UInt32 = 0, term: PreferredTerm? = nil, score: Double = 0, retrievalProb: Double = 0) {
            self.rank = rank; self.term = term; self.score = score; self.retrievalProb = retrievalProb
        }
    }

    /// The candidates of a Retrieve call, best first.
    public struct RetrieveResponse: Equatable, Sendable {
        public var candidates: [RetrievedCandidate]
        public var template: Template
        public var mode: RetrievalMode

        public init(candidates: [RetrievedCandidate] = [], template: Template = .unspecified,
                    mode: RetrievalMode = .unspecified) {
            self.candidates = candidates; self.template = template; self.mode = mode
        }
    }

    /// A (mention, candidate) pair to score; the candidate is a PT code or free text.
    public struct ScorePair: Equatable, Sendable {
        /// A PT of the server's dictionary, or free candidate text.
        public enum Candidate: Equatable, Sendable {
            case ptCode(String)
            case text(String)
        }
        public var mention: String
        public var candidate: Candidate?

        public init(mention: String = "", candidate: Candidate? = nil) {
            self.mention = mention; self.candidate = candidate
        }
    }

    /// Cross-encoder scoring of a batch of pairs.
    public struct ScoreRequest: Equatable, Sendable {
        public var pairs: [ScorePair]
        public var template: Template

        public init(pairs: [ScorePair] = [], template: Template = .unspecified) {
            self.pairs = pairs; self.template = template
        }
    }

    /// Logits and probabilities of one pair; `prob1` is P(match).
    public struct PairScore: Equatable, Sendable {
        public var logit0: Double
        public var logit1: Double
        public var prob0: Double
        public var prob1: Double
        public var candidateText: String

        public init(logit0: Double = 0, logit1: Double = 0, prob0: Double = 0, prob1: Double = 0,
                    candidateText: String = "") {
            self.logit0 = logit0; self.logit1 = logit1; self.prob0 = prob0; self.prob1 = prob1
            self.candidateText = candidateText
        }
    }

    /// One `PairScore` per request pair, in request order.
    public struct ScoreResponse: Equatable, Sendable {
        public var scores: [PairScore]
        /// The encoder arithmetic behind the scores: "fp32" or "int8".
        public var precision: String
        public init(scores: [PairScore] = [], precision: String = "") {
            self.scores = scores
            self.precision = precision
        }
    }

    /// The full pipeline for one mention (also each NormalizeStream item).
    public struct NormalizeRequest: Equatable, Sendable {
        public var id: String
        public var mention: String
        public var topK: UInt32
        /// nil = the server's default threshold; 0.0 is a threshold of its own.
        public var threshold: Double?
        public var template: Template
        public var returnTopScored: UInt32
        public var scorer: Scorer
        /// With the lexical scorer, EXACT gives the exact-alias baseline.
        public var mode: RetrievalMode

        public init(id: String = "", mention: String = "", topK: UInt32 = 0, threshold: Double? = nil,
                    template: Template = .unspecified, returnTopScored: UInt32 = 0, scorer: Scorer = .unspecified,
                    mode: RetrievalMode = .unspecified) {
            self.id = id; self.mention = mention; self.topK = topK; self.threshold = threshold
            self.template = template; self.returnTopScored = returnTopScored; self.scorer = scorer
            self.mode = mode
        }
    }

    /// A PT whose probability reached the threshold.
    public struct MatchedTerm: Equatable, Sendable {
        public var term: PreferredTerm?
        public var probability: Double
        public var retrievalRank: UInt32

        public init(term: PreferredTerm? = nil, probability: Double = 0, retrievalRank: UInt32 = 0) {
            self.term = term; self.probability = probability; self.retrievalRank = retrievalRank
        }
    }

    /// One of the best scored candidates, when asked for.
    public struct ScoredCandidate: Equatable, Sendable {
        public var term: PreferredTerm?
        public var probability: Double
        public var bm25Score: Double
        public var retrievalRank: UInt32

        public init(term: PreferredTerm? = nil, probability: Double = 0, bm25Score: Double = 0,
                    retrievalRank: UInt32 = 0) {
            self.term = term; self.probability = probability; self.bm25Score = bm25Score
            self.retrievalRank = retrievalRank
        }
    }

    /// Where a normalization spent its time, in milliseconds.
    public struct Timings: Equatable, Sendable {
        public var retrievalMs: Double
        public var tokenizationMs: Double
        public var queueWaitMs: Double
        public var inferenceMs: Double
        public var totalMs: Double

        public init(retrievalMs: Double = 0, tokenizationMs: Double = 0, queueWaitMs: Double = 0,
                    inferenceMs: Double = 0, totalMs: Double = 0) {
            self.retrievalMs = retrievalMs; self.tokenizationMs = tokenizationMs; self.queueWaitMs = queueWaitMs
            self.inferenceMs = inferenceMs; self.totalMs = totalMs
        }
    }

    /// An item-level failure inside NormalizeStream; the stream goes on.
    public struct ItemError: Equatable, Sendable {
        public var code: StatusCode
        public var message: String
        public init(code: StatusCode, message: String) { self.code = code; self.message = message }
    }

    /// The matched PTs of one mention, echoing the request id.
    public struct NormalizeResponse: Equatable, Sendable {
        public var id: String
        public var matches: [MatchedTerm]
        public var topScored: [ScoredCandidate]
        public var timings: Timings?
        public var scorer: Scorer
        public var threshold: Double
        /// Set (and nothing else but `id`) when this item failed.
        public var error: ItemError?
        public var cached: Bool
        /// The encoder arithmetic behind the probabilities; empty for the lexical scorer.
        public var precision: String

        public init(id: String = "", matches: [MatchedTerm] = [], topScored: [ScoredCandidate] = [],
                    timings: Timings? = nil, scorer: Scorer = .unspecified, threshold: Double = 0,
                    error: ItemError? = nil, cached: Bool = false, precision: String = "") {
            self.id = id; self.matches = matches; self.topScored = topScored; self.timings = timings
            self.scorer = scorer; self.threshold = threshold; self.error = error; self.cached = cached
            self.precision = precision
        }
    }

    /// Asks for the server, model and dictionary description.
    public struct InfoRequest: Equatable, Sendable {
        public init() {}
    }

    /// The cross-encoder the server runs.
    public struct ModelInfo: Equatable, Sendable {
        public var name: String
        public var numLayers: UInt32
        public var hiddenSize: UInt32
        public var maxLength: UInt32
        public var id2label: [UInt32: String]
        public var matchLabelID: UInt32
        public var weightsSHA256: String
        public var synthetic: Bool
        /// The encoder arithmetic: "fp32" or "int8".
        public var precision: String

        public init(name: String = "", numLayers: UInt32 = 0, hiddenSize: UInt32 = 0, maxLength: UInt32 = 0,
                    id2label: [UInt32: String] = [:], matchLabelID: UInt32 = 0, weightsSHA256: String = "",
                    synthetic: Bool = false, precision: String = "") {
            self.name = name; self.numLayers = numLayers; self.hiddenSize = hiddenSize; self.maxLength = maxLength
            self.id2label = id2label; self.matchLabelID = matchLabelID; self.weightsSHA256 = weightsSHA256
            self.synthetic = synthetic; self.precision = precision
        }
    }

    /// The dictionary the server serves.
    public struct DictionaryInfo: Equatable, Sendable {
        public var source: String
        public var version: String
        public var ptCount: UInt32
        public var lltCount: UInt32
        public var socCount: UInt32
        public var digest: String
        public var synthetic: Bool

        public init(source: String = "", version: String = "", ptCount: UInt32 = 0, lltCount: UInt32 = 0,
                    socCount: UInt32 = 0, digest: String = "", synthetic: Bool = false) {
            self.source = source; self.version = version; self.ptCount = ptCount; self.lltCount = lltCount
            self.socCount = socCount; self.digest = digest; self.synthetic = synthetic
        }
    }

    /// The values a request field left at zero takes.
    public struct Defaults: Equatable, Sendable {
        public var topK: UInt32
        public var threshold: Double
        public var template: Template
        public var scorer: Scorer
        public var maxMentionChars: UInt32
        public var maxLength: UInt32

        public init(topK: UInt32 = 0, threshold: Double = 0, template: Template = .unspecified,
                    scorer: Scorer = .unspecified, maxMentionChars: UInt32 = 0, maxLength: UInt32 = 0) {
            self.topK = topK; self.threshold = threshold; self.template = template; self.scorer = scorer
            self.maxMentionChars = maxMentionChars; self.maxLength = maxLength
        }
    }

    /// The result cache counters.
    public struct CacheStats: Equatable, Sendable {
        public var hits: UInt64
        public var misses: UInt64
        public var entries: UInt64
        public var capacity: UInt64

        public init(hits: UInt64 = 0, misses: UInt64 = 0, entries: UInt64 = 0, capacity: UInt64 = 0) {
            self.hits = hits; self.misses = misses; self.entries = entries; self.capacity = capacity
        }
    }

    /// What the server runs: model, dictionary, defaults, cache.
    public struct InfoResponse: Equatable, Sendable {
        public var serverName: String
        public var serverVersion: String
        public var protocolVersion: UInt32
        public var model: ModelInfo?
        public var dictionary: DictionaryInfo?
        public var defaults: Defaults?
        public var cache: CacheStats?

        public init(serverName: String = "", serverVersion: String = "", protocolVersion: UInt32 = 0,
                    model: ModelInfo? = nil, dictionary: DictionaryInfo? = nil, defaults: Defaults? = nil,
                    cache: CacheStats? = nil) {
            self.serverName = serverName; self.serverVersion = serverVersion; self.protocolVersion = protocolVersion
            self.model = model; self.dictionary = dictionary; self.defaults = defaults; self.cache = cache
        }
    }

    /// Asks whether the server is serving.
    public struct HealthRequest: Equatable, Sendable {
        public init() {}
    }

    /// SERVING or NOT_SERVING.
    public struct HealthResponse: Equatable, Sendable {
        /// The serving state.
        public enum ServingStatus: UInt32, Sendable { case unknown = 0, serving = 1, notServing = 2 }
        public var status: ServingStatus
        public init(status: ServingStatus = .unknown) { self.status = status }
    }
}
