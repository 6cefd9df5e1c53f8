import Terminology
import Wire

/// JSON renderings of the responses, for people reading `adrnorm call`.
enum CallJSON {
    static func health(_ r: AdrnormV1.HealthResponse) -> String {
        let status = r.status == .serving ? "SERVING" : r.status == .notServing ? "NOT_SERVING" : "UNKNOWN"
        return JSONValue.object([("status", .string(status))]).text()
    }

    static func term(_ t: AdrnormV1.PreferredTerm?) -> [(String, JSONValue)] {
        guard let t else { return [] }
        return [("pt_code", .string(t.ptCode)), ("pt_name", .string(t.ptName)), ("hlt_name", .string(t.hltName)),
                ("hlgt_name", .string(t.hlgtName)), ("soc_name", .string(t.socName))]
    }

    static func retrieve(_ r: AdrnormV1.RetrieveResponse) -> String {
        JSONValue.object([("candidates", .array(r.candidates.map { c in
            .object([("rank", .integer(Int(c.rank)))] + term(c.term)
                    + [("score", .number(c.score)), ("retrieval_prob", .number(c.retrievalProb))])
        }))]).text()
    }

    static func score(_ r: AdrnormV1.ScoreResponse) -> String {
        JSONValue.object([("scores", .array(r.scores.map { s in
            .object([("candidate_text", .string(s.candidateText)), ("logit_0", .number(s.logit0)),
                     ("logit_1", .number(s.logit1)), ("prob_0", .number(s.prob0)), ("prob_1", .number(s.prob1))])
        })), ("precision", .string(r.precision))]).text()
    }

    static func info(_ r: AdrnormV1.InfoResponse) -> String {
        var fields: [(String, JSONValue)] = [("server_name", .string(r.serverName)),
                                             ("server_version", .string(r.serverVersion)),
                                             ("protocol_version", .integer(Int(r.protocolVersion)))]
        if let m = r.model {
            fields.append(("model", .object([
                ("name", .string(m.name)), ("num_layers", .integer(Int(m.numLayers))),
                ("hidden_size", .integer(Int(m.hiddenSize))), ("max_length", .integer(Int(m.maxLength))),
                ("id2label", .object(m.id2label.sorted { $0.key < $1.key }.map { ("\($0.key)", .string($0.value)) })),
                ("match_label_id", .integer(Int(m.matchLabelID))), ("weights_sha256", .string(m.weightsSHA256)),
                ("synthetic", .bool(m.synthetic)), ("precision", .string(m.precision)),
            ])))
        }
        if let d = r.dictionary {
            fields.append(("dictionary", .object([
                ("source", .string(d.source)), ("version", .string(d.version)),
                ("pt_count", .integer(Int(d.ptCount))), ("llt_count", .integer(Int(d.lltCount))),
                ("soc_count", .integer(Int(d.socCount))), ("digest", .string(d.digest)), ("synthetic", .bool(d.synthetic)),
                ("llt_digest", .string(d.lltDigest)), ("llt_codes", .bool(d.lltCodes)),
            ])))
        }
        if let d = r.defaults {
            fields.append(("defaults", .object([
                ("top_k", .integer(Int(d.topK))), ("threshold", .number(d.threshold)),
                ("template", .string(d.template == .ptOnly ? "pt_only" : d.template == .ptLLT ? "pt_llt" : "full")),
                ("scorer", .string(d.scorer == .lexical ? "lexical" : "model")),
                ("max_mention_chars", .integer(Int(d.maxMentionChars))), ("max_length", .integer(Int(d.maxLength))),
                ("max_pairs_per_request", .integer(Int(d.maxPairsPerRequest))),
                ("max_queued_pairs", .integer(Int(d.maxQueuedPairs))),
                ("max_queued_pairs_per_client", .integer(Int(d.maxQueuedPairsPerClient))),
                ("review_margin", .number(d.reviewMargin)),
            ])))
        }
        if let c = r.cache {
            fields.append(("cache", .object([("hits", .integer(Int(c.hits))), ("misses", .integer(Int(c.misses))),
                                             ("entries", .integer(Int(c.entries))), ("capacity", .integer(Int(c.capacity)))])))
        }
        if let c = r.coding {
            fields.append(("coding", .object([
                ("synonym_hits", .integer(Int(c.synonymHits))), ("needs_review", .integer(Int(c.needsReview))),
                ("synonyms_source", .string(c.synonymsSource)), ("synonyms_digest", .string(c.synonymsDigest)),
                ("synonyms_folding", .string(c.synonymsFolding)), ("synonym_entries", .integer(Int(c.synonymEntries))),
            ])))
        }
        if let l = r.connectionLimits {
            fields.append(("connection_limits", .object([
                ("max_concurrent_streams", .integer(Int(l.maxConcurrentStreams))),
                ("initial_stream_credit", .integer(Int(l.initialStreamCredit))),
                ("max_metadata_entries", .integer(Int(l.maxMetadataEntries))),
                ("max_metadata_bytes", .integer(Int(l.maxMetadataBytes))),
                ("max_request_bytes_per_connection", .integer(Int(l.maxRequestBytesPerConnection))),
                ("max_request_bytes", .integer(Int(l.maxRequestBytes))),
                ("max_queued_output_bytes_per_connection", .integer(Int(l.maxQueuedOutputBytesPerConnection))),
                ("max_queued_output_bytes", .integer(Int(l.maxQueuedOutputBytes))),
                ("stream_idle_timeout_ms", .integer(Int(l.streamIdleTimeoutMs))),
                ("write_timeout_ms", .integer(Int(l.writeTimeoutMs))),
                ("idle_timeout_ms", .integer(Int(l.idleTimeoutMs))),
            ])))
        }
        return JSONValue.object(fields).text()
    }
}
