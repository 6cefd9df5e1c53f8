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
        var fields: [(String, JSONValue)] = [("schema", .string(Self.schema)), ("id", .string(id)),
                                             ("mention", .string(mention))]
        if let error {
            fields.append(("error", .object([("code", .string(error.code)), ("message", .string(error.message))])))
            return JSONValue.object(fields).text()
        }
        fields.append(("pt_codes", .strings(matches.map(\.term.ptCode))))
        fields.append(("matches", .array(matches.map(Self.match))))
        if !topScored.isEmpty { fields.append(("top_scored", .array(topScored.map(Self.match)))) }
        fields.append(("scorer", .string(scorer)))
        fields.append(("threshold", .number(threshold)))
        fields.append(("precision", .string(precision)))
        fields.append(("cached", .bool(cached)))
        if let t = timings {
            fields.append(("timings", .object([
                ("retrieval_ms", .number(t.retrievalMs)), ("tokenization_ms", .number(t.tokenizationMs)),
                ("queue_wait_ms", .number(t.queueWaitMs)), ("inference_ms", .number(t.inferenceMs)),
                ("total_ms", .number(t.totalMs)),
            ])))
        }
        if let gold {
            fields.append(("gold_pt_codes", .strings(gold.ptCodes)))
            fields.append(("gold_soc_codes", .strings(gold.socCodes)))
        }
        return JSONValue.object(fields).text()
    }

    private static func match(_ m: Match) -> JSONValue {
        let t = m.term
        var fields: [(String, JSONValue)] = [
            ("term", .object([("pt_code", .string(t.ptCode)), ("pt_name", .string(t.ptName)),
                              ("llt_names", .strings(t.lltNames)), ("hlt_name", .string(t.hltName)),
                              ("hlgt_name", .string(t.hlgtName)), ("soc_name", .string(t.socName)),
                              ("soc_code", .string(t.socCode))])),
            ("probability", .number(m.probability)), ("retrieval_rank", .integer(m.retrievalRank)),
        ]
        if let s = m.bm25Score { fields.append(("bm25_score", .number(s))) }
        return .object(fields)
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
