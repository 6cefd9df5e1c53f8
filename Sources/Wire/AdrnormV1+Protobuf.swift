internal import AdrnormProto
internal import CProtobufC

/// A service message that travels as protobuf bytes in a `Message` frame
/// (or in `Call.payload`).
public protocol WireMessage: Sendable {
    /// Decodes protobuf bytes; malformed bytes, invalid UTF-8 in a string
    /// field or an unknown enum value are `INVALID_ARGUMENT` naming the field.
    init(serializedBytes: [UInt8]) throws(ServiceError)
    /// The protobuf encoding.
    func serializedBytes() -> [UInt8]
}

// MARK: - Helpers for copying out of protobuf-c

/// protobuf-c 1.4.1 does not check that string fields are UTF-8 (its
/// unpacker copies the bytes as they are), so every string is validated here
/// while it is copied out.
private func text(_ pointer: UnsafePointer<CChar>?, _ field: @autoclosure () -> String) throws(ServiceError) -> String {
    guard let pointer else { return "" }
    guard let string = String(validatingCString: pointer) else {
        throw ServiceError(.invalidArgument, "\(field()): not valid UTF-8")
    }
    return string
}

private func texts(_ count: Int, _ array: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                   _ field: String) throws(ServiceError) -> [String] {
    guard count > 0, let array else { return [] }
    var out: [String] = []
    out.reserveCapacity(count)
    for i in 0..<count { out.append(try text(array[i], "\(field)[\(i)]")) }
    return out
}

private func enumeration<E: RawRepresentable>(_ raw: UInt32, _ field: String) throws(ServiceError) -> E
where E.RawValue == UInt32 {
    guard let value = E(rawValue: raw) else {
        throw ServiceError(.invalidArgument, "\(field): unknown enum value \(raw)")
    }
    return value
}

private func unpack<C, R>(_ bytes: [UInt8], _ name: String,
                          _ unpacker: (UnsafeMutablePointer<ProtobufCAllocator>?, Int, UnsafePointer<UInt8>?) -> UnsafeMutablePointer<C>?,
                          _ free: (UnsafeMutablePointer<C>?, UnsafeMutablePointer<ProtobufCAllocator>?) -> Void,
                          _ convert: (C) throws(ServiceError) -> R) throws(ServiceError) -> R {
    let message = bytes.withUnsafeBufferPointer { unpacker(nil, $0.count, $0.baseAddress) }
    guard let message else {
        throw ServiceError(.invalidArgument, "request payload is not a valid \(name) (\(bytes.count) bytes)")
    }
    defer { free(message, nil) }
    return try convert(message.pointee)
}

private func pack<C>(_ message: UnsafeMutablePointer<C>) -> [UInt8] {
    message.withMemoryRebound(to: ProtobufCMessage.self, capacity: 1) { packProtobuf($0) }
}

private func each<C, R>(_ count: Int, _ array: UnsafeMutablePointer<UnsafeMutablePointer<C>?>?, _ field: String,
                        _ convert: (C, String) throws(ServiceError) -> R) throws(ServiceError) -> [R] {
    guard count > 0, let array else { return [] }
    var out: [R] = []
    out.reserveCapacity(count)
    for i in 0..<count {
        guard let element = array[i] else { continue }
        out.append(try convert(element.pointee, "\(field)[\(i)]"))
    }
    return out
}

// MARK: - Nested messages

extension AdrnormV1.PreferredTerm {
    fileprivate init(_ c: Adrnorm__V1__PreferredTerm, _ f: String) throws(ServiceError) {
        self.init(ptCode: try text(c.pt_code, "\(f).pt_code"), ptName: try text(c.pt_name, "\(f).pt_name"),
                  lltNames: try texts(c.n_llt_names, c.llt_names, "\(f).llt_names"),
                  hltName: try text(c.hlt_name, "\(f).hlt_name"), hlgtName: try text(c.hlgt_name, "\(f).hlgt_name"),
                  socName: try text(c.soc_name, "\(f).soc_name"), socCode: try text(c.soc_code, "\(f).soc_code"))
    }

    fileprivate func build(_ a: ProtobufArena) -> UnsafeMutablePointer<Adrnorm__V1__PreferredTerm> {
        let m: UnsafeMutablePointer<Adrnorm__V1__PreferredTerm> = a.message(adrnorm__v1__preferred_term__init)
        m.pointee.pt_code = a.string(ptCode)
        m.pointee.pt_name = a.string(ptName)
        m.pointee.n_llt_names = lltNames.count
        m.pointee.llt_names = a.strings(lltNames)
        m.pointee.hlt_name = a.string(hltName)
        m.pointee.hlgt_name = a.string(hlgtName)
        m.pointee.soc_name = a.string(socName)
        m.pointee.soc_code = a.string(socCode)
        return m
    }
}

private func term(_ p: UnsafeMutablePointer<Adrnorm__V1__PreferredTerm>?, _ f: String) throws(ServiceError)
    -> AdrnormV1.PreferredTerm? {
    guard let p else { return nil }
    return try AdrnormV1.PreferredTerm(p.pointee, f)
}

// MARK: - Retrieve

extension AdrnormV1.RetrieveRequest: WireMessage {
    public init(serializedBytes bytes: [UInt8]) throws(ServiceError) {
        self = try unpack(bytes, "RetrieveRequest", adrnorm__v1__retrieve_request__unpack,
                          adrnorm__v1__retrieve_request__free_unpacked) { c throws(ServiceError) in
            AdrnormV1.RetrieveRequest(mention: try text(c.mention, "mention"), topK: c.top_k,
                                      template: try enumeration(c.template_.rawValue, "template"),
                                      mode: try enumeration(c.mode.rawValue, "mode"))
        }
    }

    public func serializedBytes() -> [UInt8] {
        let a = ProtobufArena()
        let m: UnsafeMutablePointer<Adrnorm__V1__RetrieveRequest> = a.message(adrnorm__v1__retrieve_request__init)
        m.pointee.mention = a.string(mention)
        m.pointee.top_k = topK
        m.pointee.template_ = Adrnorm__V1__Template(rawValue: template.rawValue)
        m.pointee.mode = Adrnorm__V1__RetrievalMode(rawValue: mode.rawValue)
        return pack(m)
    }
}

extension AdrnormV1.RetrieveResponse: WireMessage {
    public init(serializedBytes bytes: [UInt8]) throws(ServiceError) {
        self = try unpack(bytes, "RetrieveResponse", adrnorm__v1__retrieve_response__unpack,
                          adrnorm__v1__retrieve_response__free_unpacked) { c throws(ServiceError) in
            AdrnormV1.RetrieveResponse(
                candidates: try each(c.n_candidates, c.candidates, "candidates") { (e, f) throws(ServiceError) in
                    AdrnormV1.RetrievedCandidate(rank: e.rank, term: try term(e.term, "\(f).term"), score: e.score,
                                                 retrievalProb: e.retrieval_prob)
                },
                template: try enumeration(c.template_.rawValue, "template"),
                mode: try enumeration(c.mode.rawValue, "mode"))
        }
    }

    public func serializedBytes() -> [UInt8] {
        let a = ProtobufArena()
        let m: UnsafeMutablePointer<Adrnorm__V1__RetrieveResponse> = a.message(adrnorm__v1__retrieve_response__init)
        let items = candidates.map { c -> UnsafeMutablePointer<Adrnorm__V1__RetrievedCandidate> in
            let e: UnsafeMutablePointer<Adrnorm__V1__RetrievedCandidate> = a.message(adrnorm__v1__retrieved_candidate__init)
            e.pointee.rank = c.rank
            e.pointee.term = c.term?.build(a)
            e.pointee.score = c.score
            e.pointee.retrieval_prob = c.retrievalProb
            return e
        }
        m.pointee.n_candidates = items.count
        m.pointee.candidates = a.pointerArray(items)
        m.pointee.template_ = Adrnorm__V1__Template(rawValue: template.rawValue)
        m.pointee.mode = Adrnorm__V1__RetrievalMode(rawValue: mode.rawValue)
        return pack(m)
    }
}

// MARK: - Score

extension AdrnormV1.ScoreRequest: WireMessage {
    public init(serializedBytes bytes: [UInt8]) throws(ServiceError) {
        self = try unpack(bytes, "ScoreRequest", adrnorm__v1__score_request__unpack,
                          adrnorm__v1__score_request__free_unpacked) { c throws(ServiceError) in
            AdrnormV1.ScoreRequest(
                pairs: try each(c.n_pairs, c.pairs, "pairs") { (p, f) throws(ServiceError) in
                    let candidate: AdrnormV1.ScorePair.Candidate?
                    switch p.candidate_case {
                    case ADRNORM__V1__SCORE_PAIR__CANDIDATE_PT_CODE:
                        candidate = .ptCode(try text(p.pt_code, "\(f).pt_code"))
                    case ADRNORM__V1__SCORE_PAIR__CANDIDATE_CANDIDATE_TEXT:
                        candidate = .text(try text(p.candidate_text, "\(f).candidate_text"))
                    default:
                        candidate = nil
                    }
                    return AdrnormV1.ScorePair(mention: try text(p.mention, "\(f).mention"), candidate: candidate)
                },
                template: try enumeration(c.template_.rawValue, "template"))
        }
    }

    public func serializedBytes() -> [UInt8] {
        let a = ProtobufArena()
        let m: UnsafeMutablePointer<Adrnorm__V1__ScoreRequest> = a.message(adrnorm__v1__score_request__init)
        let items = pairs.map { p -> UnsafeMutablePointer<Adrnorm__V1__ScorePair> in
            let e: UnsafeMutablePointer<Adrnorm__V1__ScorePair> = a.message(adrnorm__v1__score_pair__init)
            e.pointee.mention = a.string(p.mention)
            switch p.candidate {
            case .ptCode(let code):
                e.pointee.candidate_case = ADRNORM__V1__SCORE_PAIR__CANDIDATE_PT_CODE
                e.pointee.pt_code = a.string(code)
            case .text(let text):
                e.pointee.candidate_case = ADRNORM__V1__SCORE_PAIR__CANDIDATE_CANDIDATE_TEXT
                e.pointee.candidate_text = a.string(text)
            case nil:
                break
            }
            return e
        }
        m.pointee.n_pairs = items.count
        m.pointee.pairs = a.pointerArray(items)
        m.pointee.template_ = Adrnorm__V1__Template(rawValue: template.rawValue)
        return pack(m)
    }
}

extension AdrnormV1.ScoreResponse: WireMessage {
    public init(serializedBytes bytes: [UInt8]) throws(ServiceError) {
        self = try unpack(bytes, "ScoreResponse", adrnorm__v1__score_response__unpack,
                          adrnorm__v1__score_response__free_unpacked) { c throws(ServiceError) in
            AdrnormV1.ScoreResponse(scores: try each(c.n_scores, c.scores, "scores") { (s, f) throws(ServiceError) in
                AdrnormV1.PairScore(logit0: s.logit_0, logit1: s.logit_1, prob0: s.prob_0, prob1: s.prob_1,
                                    candidateText: try text(s.candidate_text, "\(f).candidate_text"))
            }, precision: try text(c.precision, "precision"))
        }
    }

    public func serializedBytes() -> [UInt8] {
        let a = ProtobufArena()
        let m: UnsafeMutablePointer<Adrnorm__V1__ScoreResponse> = a.message(adrnorm__v1__score_response__init)
        let items = scores.map { s -> UnsafeMutablePointer<Adrnorm__V1__PairScore> in
            let e: UnsafeMutablePointer<Adrnorm__V1__PairScore> = a.message(adrnorm__v1__pair_score__init)
            e.pointee.logit_0 = s.logit0
            e.pointee.logit_1 = s.logit1
            e.pointee.prob_0 = s.prob0
            e.pointee.prob_1 = s.prob1
            e.pointee.candidate_text = a.string(s.candidateText)
            return e
        }
        m.pointee.n_scores = items.count
        m.pointee.scores = a.pointerArray(items)
        m.pointee.precision = a.string(precision)
        return pack(m)
    }
}

// MARK: - Normalize

extension AdrnormV1.NormalizeRequest: WireMessage {
    public init(serializedBytes bytes: [UInt8]) throws(ServiceError) {
        self = try unpack(bytes, "NormalizeRequest", adrnorm__v1__normalize_request__unpack,
                          adrnorm__v1__normalize_request__free_unpacked) { c throws(ServiceError) in
            AdrnormV1.NormalizeRequest(
                id: try text(c.id, "id"), mention: try text(c.mention, "mention"), topK: c.top_k,
                threshold: c.threshold_choice_case == ADRNORM__V1__NORMALIZE_REQUEST__THRESHOLD_CHOICE_THRESHOLD
                    ? c.threshold : nil,
                template: try enumeration(c.template_.rawValue, "template"), returnTopScored: c.return_top_scored,
                scorer: try enumeration(c.scorer.rawValue, "scorer"), mode: try enumeration(c.mode.rawValue, "mode"))
        }
    }

    public func serializedBytes() -> [UInt8] {
        let a = ProtobufArena()
        let m: UnsafeMutablePointer<Adrnorm__V1__NormalizeRequest> = a.message(adrnorm__v1__normalize_request__init)
        m.pointee.id = a.string(id)
        m.pointee.mention = a.string(mention)
        m.pointee.top_k = topK
        if let threshold {
            m.pointee.threshold_choice_case = ADRNORM__V1__NORMALIZE_REQUEST__THRESHOLD_CHOICE_THRESHOLD
            m.pointee.threshold = threshold
        }
        m.pointee.template_ = Adrnorm__V1__Template(rawValue: template.rawValue)
        m.pointee.return_top_scored = returnTopScored
        m.pointee.scorer = Adrnorm__V1__Scorer(rawValue: scorer.rawValue)
        m.pointee.mode = Adrnorm__V1__RetrievalMode(rawValue: mode.rawValue)
        return pack(m)
    }
}

extension AdrnormV1.NormalizeResponse: WireMessage {
    public init(serializedBytes bytes: [UInt8]) throws(ServiceError) {
        self = try unpack(bytes, "NormalizeResponse", adrnorm__v1__normalize_response__unpack,
                          adrnorm__v1__normalize_response__free_unpacked) { c throws(ServiceError) in
            var r = AdrnormV1.NormalizeResponse(id: try text(c.id, "id"))
            r.matches = try each(c.n_matches, c.matches, "matches") { (e, f) throws(ServiceError) in
                AdrnormV1.MatchedTerm(term: try term(e.term, "\(f).term"), probability: e.probability,
                                      retrievalRank: e.retrieval_rank)
            }
            r.topScored = try each(c.n_top_scored, c.top_scored, "top_scored") { (e, f) throws(ServiceError) in
                AdrnormV1.ScoredCandidate(term: try term(e.term, "\(f).term"), probability: e.probability,
                                          bm25Score: e.bm25_score, retrievalRank: e.retrieval_rank)
            }
            if let t = c.timings?.pointee {
                r.timings = AdrnormV1.Timings(retrievalMs: t.retrieval_ms, tokenizationMs: t.tokenization_ms,
                                              queueWaitMs: t.queue_wait_ms, inferenceMs: t.inference_ms,
                                              totalMs: t.total_ms)
            }
            r.scorer = try enumeration(c.scorer.rawValue, "scorer")
            r.threshold = c.threshold
            if let e = c.error?.pointee {
                r.error = AdrnormV1.ItemError(code: StatusCode(wireValue: e.code.rawValue),
                                              message: try text(e.message, "error.message"))
            }
            r.cached = c.cached != 0
            r.precision = try text(c.precision, "precision")
            return r
        }
    }

    public func serializedBytes() -> [UInt8] {
        let a = ProtobufArena()
        let m: UnsafeMutablePointer<Adrnorm__V1__NormalizeResponse> = a.message(adrnorm__v1__normalize_response__init)
        m.pointee.id = a.string(id)
        let matchItems = matches.map { t -> UnsafeMutablePointer<Adrnorm__V1__MatchedTerm> in
            let e: UnsafeMutablePointer<Adrnorm__V1__MatchedTerm> = a.message(adrnorm__v1__matched_term__init)
            e.pointee.term = t.term?.build(a)
            e.pointee.probability = t.probability
            e.pointee.retrieval_rank = t.retrievalRank
            return e
        }
        m.pointee.n_matches = matchItems.count
        m.pointee.matches = a.pointerArray(matchItems)
        let scoredItems = topScored.map { t -> UnsafeMutablePointer<Adrnorm__V1__ScoredCandidate> in
            let e: UnsafeMutablePointer<Adrnorm__V1__ScoredCandidate> = a.message(adrnorm__v1__scored_candidate__init)
            e.pointee.term = t.term?.build(a)
            e.pointee.probability = t.probability
            e.pointee.bm25_score = t.bm25Score
            e.pointee.retrieval_rank = t.retrievalRank
            return e
        }
        m.pointee.n_top_scored = scoredItems.count
        m.pointee.top_scored = a.pointerArray(scoredItems)
        if let t = timings {
            let e: UnsafeMutablePointer<Adrnorm__V1__Timings> = a.message(adrnorm__v1__timings__init)
            e.pointee.retrieval_ms = t.retrievalMs
            e.pointee.tokenization_ms = t.tokenizationMs
            e.pointee.queue_wait_ms = t.queueWaitMs
            e.pointee.inference_ms = t.inferenceMs
            e.pointee.total_ms = t.totalMs
            m.pointee.timings = e
        }
        m.pointee.scorer = Adrnorm__V1__Scorer(rawValue: scorer.rawValue)
        m.pointee.threshold = threshold
        if let error {
            let e: UnsafeMutablePointer<Adrnorm__V1__ItemError> = a.message(adrnorm__v1__item_error__init)
            e.pointee.code = Adrnorm__Wire__V1__Code(rawValue: error.code.rawValue)
            e.pointee.message = a.string(error.message)
            m.pointee.error = e
        }
        m.pointee.cached = cached ? 1 : 0
        m.pointee.precision = a.string(precision)
        return pack(m)
    }
}

// MARK: - Info and Health

extension AdrnormV1.InfoRequest: WireMessage {
    public init(serializedBytes bytes: [UInt8]) throws(ServiceError) {
        self = try unpack(bytes, "InfoRequest", adrnorm__v1__info_request__unpack,
                          adrnorm__v1__info_request__free_unpacked) { _ in AdrnormV1.InfoRequest() }
    }

    public func serializedBytes() -> [UInt8] {
        let a = ProtobufArena()
        let m: UnsafeMutablePointer<Adrnorm__V1__InfoRequest> = a.message(adrnorm__v1__info_request__init)
        return pack(m)
    }
}

extension AdrnormV1.InfoResponse: WireMessage {
    public init(serializedBytes bytes: [UInt8]) throws(ServiceError) {
        self = try unpack(bytes, "InfoResponse", adrnorm__v1__info_response__unpack,
                          adrnorm__v1__info_response__free_unpacked) { c throws(ServiceError) in
            var r = AdrnormV1.InfoResponse(serverName: try text(c.server_name, "server_name"),
                                           serverVersion: try text(c.server_version, "server_version"),
                                           protocolVersion: c.protocol_version)
            if let m = c.model?.pointee {
                var labels: [UInt32: String] = [:]
                let entries = try each(m.n_id2label, m.id2label, "model.id2label") { (e, f) throws(ServiceError) in
                    (e.key, try text(e.value, "\(f).value"))
                }
                for (key, value) in entries { labels[key] = value }
                r.model = AdrnormV1.ModelInfo(name: try text(m.name, "model.name"), numLayers: m.num_layers,
                                              hiddenSize: m.hidden_size, maxLength: m.max_length, id2label: labels,
                                              matchLabelID: m.match_label_id,
                                              weightsSHA256: try text(m.weights_sha256, "model.weights_sha256"),
                                              synthetic: m.synthetic != 0,
                                              precision: try text(m.precision, "model.precision"))
            }
            if let d = c.dictionary?.pointee {
                r.dictionary = AdrnormV1.DictionaryInfo(source: try text(d.source, "dictionary.source"),
                                                        version: try text(d.version, "dictionary.version"),
                                                        ptCount: d.pt_count, lltCount: d.llt_count,
                                                        socCount: d.soc_count,
                                                        digest: try text(d.digest, "dictionary.digest"),
                                                        synthetic: d.synthetic != 0)
            }
            if let d = c.defaults?.pointee {
                r.defaults = AdrnormV1.Defaults(topK: d.top_k, threshold: d.threshold,
                                                template: try enumeration(d.template_.rawValue, "defaults.template"),
                                                scorer: try enumeration(d.scorer.rawValue, "defaults.scorer"),
                                                maxMentionChars: d.max_mention_chars, maxLength: d.max_length)
            }
            if let s = c.cache?.pointee {
                r.cache = AdrnormV1.CacheStats(hits: s.hits, misses: s.misses, entries: s.entries, capacity: s.capacity)
            }
            return r
        }
    }

    public func serializedBytes() -> [UInt8] {
        let a = ProtobufArena()
        let m: UnsafeMutablePointer<Adrnorm__V1__InfoResponse> = a.message(adrnorm__v1__info_response__init)
        m.pointee.server_name = a.string(serverName)
        m.pointee.server_version = a.string(serverVersion)
        m.pointee.protocol_version = protocolVersion
        if let model {
            let e: UnsafeMutablePointer<Adrnorm__V1__ModelInfo> = a.message(adrnorm__v1__model_info__init)
            e.pointee.name = a.string(model.name)
            e.pointee.num_layers = model.numLayers
            e.pointee.hidden_size = model.hiddenSize
            e.pointee.max_length = model.maxLength
            let entries = model.id2label.sorted { $0.key < $1.key }.map { entry in
                let p: UnsafeMutablePointer<Adrnorm__V1__ModelInfo__Id2labelEntry> =
                    a.message(adrnorm__v1__model_info__id2label_entry__init)
                p.pointee.key = entry.key
                p.pointee.value = a.string(entry.value)
                return p
            }
            e.pointee.n_id2label = entries.count
            e.pointee.id2label = a.pointerArray(entries)
            e.pointee.match_label_id = model.matchLabelID
            e.pointee.weights_sha256 = a.string(model.weightsSHA256)
            e.pointee.synthetic = model.synthetic ? 1 : 0
            e.pointee.precision = a.string(model.precision)
            m.pointee.model = e
        }
        if let dictionary {
            let e: UnsafeMutablePointer<Adrnorm__V1__DictionaryInfo> = a.message(adrnorm__v1__dictionary_info__init)
            e.pointee.source = a.string(dictionary.source)
            e.pointee.version = a.string(dictionary.version)
            e.pointee.pt_count = dictionary.ptCount
            e.pointee.llt_count = dictionary.lltCount
            e.pointee.soc_count = dictionary.socCount
            e.pointee.digest = a.string(dictionary.digest)
            e.pointee.synthetic = dictionary.synthetic ? 1 : 0
            m.pointee.dictionary = e
        }
        if let defaults {
            let e: UnsafeMutablePointer<Adrnorm__V1__Defaults> = a.message(adrnorm__v1__defaults__init)
            e.pointee.top_k = defaults.topK
            e.pointee.threshold = defaults.threshold
            e.pointee.template_ = Adrnorm__V1__Template(rawValue: defaults.template.rawValue)
            e.pointee.scorer = Adrnorm__V1__Scorer(rawValue: defaults.scorer.rawValue)
            e.pointee.max_mention_chars = defaults.maxMentionChars
            e.pointee.max_length = defaults.maxLength
            m.pointee.defaults = e
        }
        if let cache {
            let e: UnsafeMutablePointer<Adrnorm__V1__CacheStats> = a.message(adrnorm__v1__cache_stats__init)
            e.pointee.hits = cache.hits
            e.pointee.misses = cache.misses
            e.pointee.entries = cache.entries
            e.pointee.capacity = cache.capacity
            m.pointee.cache = e
        }
        return pack(m)
    }
}

extension AdrnormV1.HealthRequest: WireMessage {
    public init(serializedBytes bytes: [UInt8]) throws(ServiceError) {
        self = try unpack(bytes, "HealthRequest", adrnorm__v1__health_request__unpack,
                          adrnorm__v1__health_request__free_unpacked) { _ in AdrnormV1.HealthRequest() }
    }

    public func serializedBytes() -> [UInt8] {
        let a = ProtobufArena()
        let m: UnsafeMutablePointer<Adrnorm__V1__HealthRequest> = a.message(adrnorm__v1__health_request__init)
        return pack(m)
    }
}

extension AdrnormV1.HealthResponse: WireMessage {
    public init(serializedBytes bytes: [UInt8]) throws(ServiceError) {
        self = try unpack(bytes, "HealthResponse", adrnorm__v1__health_response__unpack,
                          adrnorm__v1__health_response__free_unpacked) { c throws(ServiceError) in
            AdrnormV1.HealthResponse(status: try enumeration(c.status.rawValue, "status"))
        }
    }

    public func serializedBytes() -> [UInt8] {
        let a = ProtobufArena()
        let m: UnsafeMutablePointer<Adrnorm__V1__HealthResponse> = a.message(adrnorm__v1__health_response__init)
        m.pointee.status = Adrnorm__V1__HealthResponse__ServingStatus(rawValue: status.rawValue)
        return pack(m)
    }
}
