import Testing
import RPCClient
import RPCServer
import Transport
import Wire

@Suite("Service messages through protobuf-c")
struct ServiceMessageTests {
    static let term = AdrnormV1.PreferredTerm(ptCode: "10019211", ptName: "头痛", lltNames: ["头疼", "脑袋痛"],
                                              hltName: "头痛NEC", hlgtName: "头痛", socName: "各类神经系统疾病",
                                              socCode: "10029205")

    @Test("every request and response survives encode → decode")
    func roundTrips() throws {
        let retrieve = AdrnormV1.RetrieveRequest(mention: "吃完药后头晕", topK: 5, template: .ptLLT, mode: .exact)
        #expect(try AdrnormV1.RetrieveRequest(serializedBytes: retrieve.serializedBytes()) == retrieve)
        let retrieved = AdrnormV1.RetrieveResponse(candidates: [.init(rank: 1, term: Self.term, score: 3.5, retrievalProb: 1),
                                                                .init(rank: 2, term: nil, score: 0, retrievalProb: 0)],
                                                   template: .full, mode: .bm25)
        #expect(try AdrnormV1.RetrieveResponse(serializedBytes: retrieved.serializedBytes()) == retrieved)
        let score = AdrnormV1.ScoreRequest(pairs: [.init(mention: "头晕", candidate: .ptCode("10013573")),
                                                   .init(mention: "头晕", candidate: .text("PT: 头晕")),
                                                   .init(mention: "x", candidate: nil)], template: .ptOnly)
        #expect(try AdrnormV1.ScoreRequest(serializedBytes: score.serializedBytes()) == score)
        let scores = AdrnormV1.ScoreResponse(scores: [.init(logit0: -1, logit1: 2, prob0: 0.05, prob1: 0.95,
                                                            candidateText: "PT: 头晕")])
        #expect(try AdrnormV1.ScoreResponse(serializedBytes: scores.serializedBytes()) == scores)
        for threshold in [nil, 0.0, 0.7] as [Double?] {
            let normalize = AdrnormV1.NormalizeRequest(id: "m-1", mention: "头晕", topK: 10, threshold: threshold,
                                                       template: .full, returnTopScored: 3, scorer: .lexical, mode: .exact)
            #expect(try AdrnormV1.NormalizeRequest(serializedBytes: normalize.serializedBytes()) == normalize)
        }
        let normalized = AdrnormV1.NormalizeResponse(
            id: "m-1", matches: [.init(term: Self.term, probability: 0.9, retrievalRank: 1)],
            topScored: [.init(term: Self.term, probability: 0.9, bm25Score: 4.2, retrievalRank: 1)],
            timings: .init(retrievalMs: 1, tokenizationMs: 2, queueWaitMs: 3, inferenceMs: 4, totalMs: 10),
            scorer: .model, threshold: 0.3, error: nil, cached: true)
        #expect(try AdrnormV1.NormalizeResponse(serializedBytes: normalized.serializedBytes()) == normalized)
        let failed = AdrnormV1.NormalizeResponse(id: "m-2", error: .init(code: .invalidArgument, message: "mention: empty"))
        #expect(try AdrnormV1.NormalizeResponse(serializedBytes: failed.serializedBytes()) == failed)
        let info = AdrnormV1.InfoResponse(
            serverName: "adrnorm", serverVersion: "0.1", protocolVersion: 1,
            model: .init(name: "demo", numLayers: 2, hiddenSize: 64, maxLength: 64, id2label: [0: "not_match", 1: "match"],
                         matchLabelID: 1, weightsSHA256: "ab", synthetic: true),
            dictionary: .init(source: "Demo/dictionary.csv", version: "", ptCount: 100, lltCount: 300, socCount: 10,
                              digest: "cd", synthetic: true),
            defaults: .init(topK: 100, threshold: 0.3, template: .full, scorer: .model, maxMentionChars: 256, maxLength: 64),
            cache: .init(hits: 1, misses: 2, entries: 3, capacity: 4))
        #expect(try AdrnormV1.InfoResponse(serializedBytes: info.serializedBytes()) == info)
        #expect(try AdrnormV1.InfoRequest(serializedBytes: AdrnormV1.InfoRequest().serializedBytes()) == .init())
        #expect(try AdrnormV1.HealthRequest(serializedBytes: []) == .init())
        let health = AdrnormV1.HealthResponse(status: .notServing)
        #expect(try AdrnormV1.HealthResponse(serializedBytes: health.serializedBytes()) == health)
    }

    @Test("invalid UTF-8 in a string field is INVALID_ARGUMENT naming the field")
    func invalidUTF8() {
        // NormalizeRequest.mention (field 2) = C3 28, not UTF-8.
        #expect(throws: ServiceError(.invalidArgument, "mention: not valid UTF-8")) {
            try AdrnormV1.NormalizeRequest(serializedBytes: [0x12, 0x02, 0xC3, 0x28])
        }
        // ScoreRequest.pairs[0].pt_code (pairs = field 1, pt_code = field 2).
        #expect(throws: ServiceError(.invalidArgument, "pairs[0].pt_code: not valid UTF-8")) {
            try AdrnormV1.ScoreRequest(serializedBytes: [0x0A, 0x04, 0x12, 0x02, 0xFF, 0xFE])
        }
    }

    @Test("unknown enum values and garbage are INVALID_ARGUMENT")
    func rejects() {
        // RetrieveRequest.template (field 3) = 9.
        #expect(throws: ServiceError(.invalidArgument, "template: unknown enum value 9")) {
            try AdrnormV1.RetrieveRequest(serializedBytes: [0x18, 0x09])
        }
        #expect { try AdrnormV1.NormalizeRequest(serializedBytes: [0xFF, 0xFF, 0xFF]) } throws: { error in
            (error as? ServiceError)?.code == .invalidArgument && "\(error)".contains("NormalizeRequest")
        }
    }
}
