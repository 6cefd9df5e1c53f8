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

    struct LLT {
        var code, name, how: String
    }

    struct Match {
        var term: Term
        var probability: Double
        var retrievalRank: Int
        /// Only in `top_scored`.
        var bm25Score: Double? = nil
        /// Only in `matches`.
        var llt: LLT? = nil
        var source: String? = nil
    }

    /// Field names and values as in the `Provenance` message.
    struct Provenance {
        var meddraVersion, dictionaryDigest, lltDigest, weightsSHA256, precision, scorer, template, mode: String
        var topK: Int
        var threshold, reviewMargin: Double
        var synonymsDigest, synonymsFolding: String

        var json: JSONValue {
            .object([("meddra_version", .string(meddraVersion)), ("dictionary_digest", .string(dictionaryDigest)),
                     ("llt_digest", .string(lltDigest)), ("weights_sha256", .string(weightsSHA256)),
                     ("precision", .string(precision)), ("scorer", .string(scorer)), ("template", .string(template)),
                     ("mode", .string(mode)), ("top_k", .integer(topK)), ("threshold", .number(threshold)),
                     ("review_margin", .number(reviewMargin)), ("synonyms_digest", .string(synonymsDigest)),
                     ("synonyms_folding", .string(synonymsFolding))])
        }
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
    var needsReview = false
    /// "" when no review is needed, else "no_match" or "near_threshold".
    var reviewReason = ""
    var provenance: Provenance? = nil
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
        fields.append(("needs_review", .bool(needsReview)))
        fields.append(("review_reason", .string(reviewReason)))
        if let provenance { fields.append(("provenance", provenance.json)) }
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
        if let l = m.llt {
            fields.append(("llt", .object([("llt_code", .string(l.code)), ("llt_name", .string(l.name)),
                                           ("how", .string(l.how))])))
        }
        if let source = m.source { fields.append(("source", .string(source))) }
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
        matches = r.matches.map {
            Match(term: term($0.term), probability: $0.probability, retrievalRank: $0.retrievalRank,
                  llt: $0.llt.map { LLT(code: $0.code, name: $0.name, how: $0.how.rawValue) }, source: $0.source.rawValue)
        }
        topScored = r.topScored.map {
            Match(term: term($0.term), probability: $0.probability, retrievalRank: $0.retrievalRank, bm25Score: $0.retrievalScore)
        }
        scorer = r.scorer.rawValue
        threshold = r.threshold
        self.precision = r.scorer == .model ? precision : ""
        cached = r.cached
        needsReview = r.needsReview
        reviewReason = r.reviewReason?.rawValue ?? ""
        let p = r.provenance
        provenance = Provenance(meddraVersion: p.medDRAVersion, dictionaryDigest: p.dictionaryDigest, lltDigest: p.lltDigest,
                                weightsSHA256: p.weightsSHA256, precision: p.precision, scorer: p.scorer.rawValue,
                                template: p.template.rawValue, mode: p.mode.rawValue, topK: p.topK, threshold: p.threshold,
                                reviewMargin: p.reviewMargin, synonymsDigest: p.synonymsDigest,
                                synonymsFolding: p.synonymsFolding)
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
        matches = r.matches.map {
            Match(term: term($0.term), probability: $0.probability, retrievalRank: Int($0.retrievalRank),
                  llt: $0.llt.map { LLT(code: $0.lltCode, name: $0.lltName, how: Self.how($0.how)) },
                  source: Self.source($0.source))
        }
        topScored = r.topScored.map {
            Match(term: term($0.term), probability: $0.probability, retrievalRank: Int($0.retrievalRank), bm25Score: $0.bm25Score)
        }
        scorer = Self.scorer(r.scorer)
        threshold = r.threshold
        precision = r.precision
        cached = r.cached
        needsReview = r.needsReview
        reviewReason = switch r.reviewReason {
        case .unspecified: ""
        case .noMatch: "no_match"
        case .nearThreshold: "near_threshold"
        }
        if let p = r.provenance {
            provenance = Provenance(meddraVersion: p.meddraVersion, dictionaryDigest: p.dictionaryDigest, lltDigest: p.lltDigest,
                                    weightsSHA256: p.weightsSHA256, precision: p.precision, scorer: Self.scorer(p.scorer),
                                    template: Self.template(p.template), mode: p.mode == .exact ? "exact" : "bm25",
                                    topK: Int(p.topK), threshold: p.threshold, reviewMargin: p.reviewMargin,
                                    synonymsDigest: p.synonymsDigest, synonymsFolding: p.synonymsFolding)
        }
        if let t = r.timings {
            timings = Timings(retrievalMs: t.retrievalMs, tokenizationMs: t.tokenizationMs, queueWaitMs: t.queueWaitMs,
                              inferenceMs: t.inferenceMs, totalMs: t.totalMs)
        }
    }
}

extension MentionResultJSON {
    static func scorer(_ s: AdrnormV1.Scorer) -> String {
        s == .model ? "model" : s == .lexical ? "lexical" : ""
    }

    static func template(_ t: AdrnormV1.Template) -> String {
        switch t {
        case .unspecified: ""
        case .full: CandidateTemplate.full.rawValue
        case .ptOnly: CandidateTemplate.ptOnly.rawValue
        case .ptLLT: CandidateTemplate.ptLLT.rawValue
        }
    }

    static func how(_ h: AdrnormV1.LltChoice) -> String {
        switch h {
        case .unspecified: ""
        case .exact: CodedLLT.Choice.exact.rawValue
        case .closest: CodedLLT.Choice.closest.rawValue
        case .ptLLT: CodedLLT.Choice.ptLLT.rawValue
        case .synonym: CodedLLT.Choice.synonym.rawValue
        }
    }

    static func source(_ s: AdrnormV1.MatchSource) -> String {
        switch s {
        case .unspecified: ""
        case .model: MatchSource.model.rawValue
        case .lexical: MatchSource.lexical.rawValue
        case .synonym: MatchSource.synonym.rawValue
        }
    }
}
