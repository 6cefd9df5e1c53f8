import Normalization
import Wire
import Terminology

/// The one JSON shape of a normalized mention (docs/PIPELINE.md §Mention
/// results): `adrnorm normalize --emit mentions`, `adrnorm call normalize` /
/// `normalize-stream` and the Python client's CLI all write it. Field names
/// are the protobuf field names of `NormalizeResponse` (what protobuf's JSON
/// mapping reads), plus `schema`, `mention` and `pt_codes`.
struct MentionResultJSON {
    static let schema = "adrnorm.mention_result/1"

    struct Term {
        var ptCode, ptName: String
        var lltNames: [String]
        var hltName, hlgtName, socName, socCode: String
    }

    struct Match {
        var term: Term
        var probability: Double
        var retrievalRank: Int
        /// Only in `top_scored`.
        var bm25Score: Double? = nil
    }

    struct Timings {
        var retrievalMs, tokenizationMs, queueWaitMs, inferenceMs, totalMs: Double
    }

    var id: String
    var mention: String
    var matches: [Match] = []
    var topScored: [Match] = []
    var scorer = ""
    var threshold = 0.0
    var precision = ""
    var cached = false
    var timings: Timings? = nil
    /// Set (with nothing else but id and mention) when the mention failed.
    var error: (code: String, message: String)? = nil
    /// From a labelled input file (`normalize` only).
    var gold: (ptCodes: [String], socCodes: [String])? = nil

    /// One line of JSON, keys in a fixed order.
    func line() -> String {
        var fields: [(String, String)] = [("schema", JSONText.quote(Self.schema)), ("id", JSONText.quote(id)),
                                          ("mention", JSONText.quote(mention))]
        if let error {
            fields.append(("error", Self.object([("code", JSONText.quote(error.code)),
                                                 ("message", JSONText.quote(error.message))])))
            return Self.object(fields)
        }
        fields.append(("pt_codes", JSONText.array(matches.map(\.term.ptCode))))
        fields.append(("matches", "[" + matches.map(Self.match).joined(separator: ", ") + "]"))
        if !topScored.isEmpty { fields.append(("top_scored", "[" + topScored.map(Self.match).joined(separator: ", ") + "]")) }
        fields.append(("scorer", JSONText.quote(scorer)))
        fields.append(("threshold", JSONText.number(threshold)))
        fields.append(("precision", JSONText.quote(precision)))
        fields.append(("cached", cached ? "true" : "false"))
        if let t = timings {
            fields.append(("timings", Self.object([
                ("retrieval_ms", JSONText.number(t.retrievalMs)), ("tokenization_ms", JSONText.number(t.tokenizationMs)),
                ("queue_wait_ms", JSONText.number(t.queueWaitMs)), ("inference_ms", JSONText.number(t.inferenceMs)),
                ("total_ms", JSONText.number(t.totalMs)),
            ])))
        }
        if let gold {
            fields.append(("gold_pt_codes", JSONText.array(gold.ptCodes)))
            fields.append(("gold_soc_codes", JSONText.array(gold.socCodes)))
        }
        return Self.object(fields)
    }

    private static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\(JSONText.quote($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
    }

    private static func match(_ m: Match) -> String {
        let t = m.term
        var fields: [(String, String)] = [
            ("term", object([("pt_code", JSONText.quote(t.ptCode)), ("pt_name", JSONText.quote(t.ptName)),
                             ("llt_names", JSONText.array(t.lltNames)), ("hlt_name", JSONText.quote(t.hltName)),
                             ("hlgt_name", JSONText.quote(t.hlgtName)), ("soc_name", JSONText.quote(t.socName)),
                             ("soc_code", JSONText.quote(t.socCode))])),
            ("probability", JSONText.number(m.probability)), ("retrieval_rank", "\(m.retrievalRank)"),
        ]
        if let s = m.bm25Score { fields.append(("bm25_score", JSONText.number(s))) }
        return object(fields)
    }
}

extension MentionResultJSON {
    /// From the pipeline (`adrnorm normalize`).
    init(_ r: NormalizationResult, precision: String) {
        func term(_ t: PreferredTerm) -> Term {
            Term(ptCode: t.ptCode, ptName: t.ptName, lltNames: t.lltNames, hltName: t.hltName, hlgtName: t.hlgtName,
                 socName: t.socName, socCode: t.socCode)
        }
        func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) / 1e15 }
        self.init(id: r.id, mention: r.mention)
        matches = r.matches.map { Match(term: term($0.term), probability: $0.probability, retrievalRank: $0.retrievalRank) }
        topScored = r.topScored.map {
            Match(term: term($0.term), probability: $0.probability, retrievalRank: $0.retrievalRank, bm25Score: $0.retrievalScore)
        }
        scorer = r.scorer.rawValue
        threshold = r.threshold
        self.precision = r.scorer == .model ? precision : ""
        cached = r.cached
        timings = Timings(retrievalMs: ms(r.timings.retrieval), tokenizationMs: ms(r.timings.tokenization),
                          queueWaitMs: ms(r.timings.queueWait), inferenceMs: ms(r.timings.inference),
                          totalMs: ms(r.timings.total))
    }

    /// From the wire (`adrnorm call`); `mention` is what was sent.
    init(_ r: AdrnormV1.NormalizeResponse, mention: String) {
        func term(_ t: AdrnormV1.PreferredTerm?) -> Term {
            let t = t ?? AdrnormV1.PreferredTerm()
            return Term(ptCode: t.ptCode, ptName: t.ptName, lltNames: t.lltNames, hltName: t.hltName,
                        hlgtName: t.hlgtName, socName: t.socName, socCode: t.socCode)
        }
        self.init(id: r.id, mention: mention)
        if let e = r.error {
            error = ("\(e.code)", e.message)
            return
        }
        matches = r.matches.map { Match(term: term($0.term), probability: $0.probability, retrievalRank: Int($0.retrievalRank)) }
        topScored = r.topScored.map {
            Match(term: term($0.term), probability: $0.probability, retrievalRank: Int($0.retrievalRank), bm25Score: $0.bm25Score)
        }
        scorer = r.scorer == .model ? "model" : r.scorer == .lexical ? "lexical" : ""
        threshold = r.threshold
        precision = r.precision
        cached = r.cached
        if let t = r.timings {
            timings = Timings(retrievalMs: t.retrievalMs, tokenizationMs: t.tokenizationMs, queueWaitMs: t.queueWaitMs,
                              inferenceMs: t.inferenceMs, totalMs: t.totalMs)
        }
    }
}
