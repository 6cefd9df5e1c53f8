import Cancellation
import Foundation
import Normalization
import RPCServer
import ServiceAdapter
import Terminology
import Testing
import Wire

/// Admission in the service: one bound in pairs (the scoring scheduler's
/// `--max-queued-pairs`) for the calls that score, checked before any
/// retrieval or tokenization, and a small bound of its own for the calls
/// that score nothing (`--max-unscored-calls`).
@Suite struct ServiceAdmissionTests {
    static func service(maxQueuedPairs: Int, limits: PipelineService.Limits? = nil) throws
        -> (PipelineService, NormalizationPipeline)
    {
        var c = PipelineConfiguration()
        c.scheduling = ScoringSchedulerConfiguration(maxQueuedPairs: maxQueuedPairs)
        c.cacheCapacity = 0
        let pipeline = try NormalizationPipeline(dictionary: DemoServer.dictionary, model: DemoServer.model,
                                                 modelDigest: "demo", configuration: c)
        return (PipelineService(pipeline: pipeline, description: .init(
            serverVersion: "test", modelName: "demo", modelIsSynthetic: true, dictionaryIsSynthetic: true),
            limits: limits ?? .init(maxQueuedPairsPerClient: maxQueuedPairs)), pipeline)
    }

    static func context() -> CallContext {
        CallContext(method: NormalizerMethod.normalize.rawValue, streamID: StreamID(1), peer: nil, metadata: [:],
                    deadline: nil, cancellation: CancellationToken())
    }

    static func expectError(_ code: StatusCode, containing text: String,
                            _ body: () async throws(ServiceError) -> Void) async {
        do {
            try await body()
            Issue.record("expected \(code), the call succeeded")
        } catch {
            #expect(error.code == code && error.message.contains(text), "\(error)")
        }
    }

    @Test("a Normalize whose top_k passes --max-queued-pairs is RESOURCE_EXHAUSTED before anything is scored")
    func normalizeOverPairBound() async throws {
        let (service, pipeline) = try Self.service(maxQueuedPairs: 10)
        defer { pipeline.shutdown() }
        do {
            _ = try await service.normalize(.init(mention: "头痛", topK: 20), context: Self.context())
            Issue.record("a 20-pair Normalize was admitted under a 10-pair bound")
        } catch {
            #expect(error.code == .resourceExhausted)
            #expect(error.message.contains("limit 10"), "\(error.message)")
        }
        #expect(pipeline.schedulerStatistics?.pairs == 0 && pipeline.schedulerStatistics?.rejected == 1)
        // Within the bound it is served.
        let ok = try await service.normalize(.init(mention: "头痛", topK: 10), context: Self.context())
        #expect(ok.scorer == .model && pipeline.schedulerStatistics?.pairs == 10)
    }

    @Test("a Score over the bound is refused before its pairs are even validated or tokenized")
    func scoreOverPairBound() async throws {
        let (service, pipeline) = try Self.service(maxQueuedPairs: 4)
        defer { pipeline.shutdown() }
        // Five pairs, one of them invalid: admission answers first.
        let pairs = (0..<5).map { i in AdrnormV1.ScorePair(mention: i == 4 ? " " : "头痛", candidate: .text("头痛")) }
        do {
            _ = try await service.score(.init(pairs: pairs), context: Self.context())
            Issue.record("a 5-pair Score was admitted under a 4-pair bound")
        } catch {
            #expect(error.code == .resourceExhausted, "\(error)")
        }
        // Four pairs fit; the invalid one is then reported as such.
        do {
            _ = try await service.score(.init(pairs: Array(pairs.suffix(4))), context: Self.context())
            Issue.record("an empty mention was scored")
        } catch {
            #expect(error.code == .invalidArgument && error.message.contains("pairs[3].mention"), "\(error)")
        }
        // The refused and failed calls gave their pairs back.
        let scored = try await service.score(.init(pairs: Array(pairs.prefix(4))), context: Self.context())
        #expect(scored.scores.count == 4)
    }

    @Test("the bound for calls that score nothing refuses at its limit and frees on leave")
    func unscoredBound() {
        let counter = AdmissionCounts(limit: 2)
        #expect(counter.enter() == nil && counter.enter() == nil)
        #expect(counter.enter() != nil)
        counter.leave()
        #expect(counter.enter() == nil)
        #expect(counter.enter() != nil)
    }

    @Test("a cancelled Normalize stops before scoring")
    func cancelledBeforeScoring() async throws {
        let (service, pipeline) = try Self.service(maxQueuedPairs: 1000)
        defer { pipeline.shutdown() }
        let context = Self.context()
        context.cancellation.cancel()
        do {
            _ = try await service.normalize(.init(mention: "头痛", topK: 50), context: context)
            Issue.record("a cancelled call was served")
        } catch {
            #expect(error.code == .cancelled)
        }
        #expect(pipeline.schedulerStatistics?.pairs == 0)
    }

    @Test("a Score over max_pairs_per_request or a Normalize whose top_k passes it is INVALID_ARGUMENT before any work")
    func pairsPerRequest() async throws {
        let (service, pipeline) = try Self.service(maxQueuedPairs: 100_000, limits: .init(maxPairsPerRequest: 50))
        defer { pipeline.shutdown() }
        let pairs = Array(repeating: AdrnormV1.ScorePair(mention: "头痛", candidate: .text("头痛")), count: 51)
        await Self.expectError(.invalidArgument, containing: "at most 50 per request") { () throws(ServiceError) in
            _ = try await service.score(.init(pairs: pairs), context: Self.context())
        }
        await Self.expectError(.invalidArgument, containing: "max_pairs_per_request") { () throws(ServiceError) in
            _ = try await service.normalize(.init(mention: "头痛", topK: 51), context: Self.context())
        }
        // The default top_k (100) is over this cap too: the server's defaults must fit it.
        await Self.expectError(.invalidArgument, containing: "top_k: 100 candidates") { () throws(ServiceError) in
            _ = try await service.normalize(.init(mention: "头痛"), context: Self.context())
        }
        #expect(pipeline.schedulerStatistics?.pairs == 0)
        #expect(try await service.score(.init(pairs: Array(pairs.prefix(50))), context: Self.context()).scores.count == 50)
        let defaults = try #require(try await service.info(.init(), context: Self.context()).defaults)
        #expect(defaults.maxPairsPerRequest == 50 && defaults.maxQueuedPairs == 100_000
                && defaults.maxQueuedPairsPerClient == 50_000)
    }

    @Test("one client identity is held to its share of the pair budget; the default share is half")
    func clientShare() async throws {
        let (service, pipeline) = try Self.service(maxQueuedPairs: 1000, limits: .init(maxQueuedPairsPerClient: 30))
        defer { pipeline.shutdown() }
        await Self.expectError(.resourceExhausted, containing: "share of 30") { () throws(ServiceError) in
            _ = try await service.normalize(.init(mention: "头痛", topK: 40), context: Self.context())
        }
        #expect(try await service.normalize(.init(mention: "头痛", topK: 30), context: Self.context()).scorer == .model)
        let (halved, p2) = try Self.service(maxQueuedPairs: 1000, limits: .init())
        defer { p2.shutdown() }
        #expect(halved.maxQueuedPairsPerClient == 500)

        let shares = AdmissionCounts(limit: 10)
        #expect(shares.enter("a", count: 6) == nil && shares.enter("b", count: 10) == nil)
        #expect(shares.enter("a", count: 5) == 6, "a holds 6; 5 more pass its share")
        shares.leave("a", count: 6)
        #expect(shares.enter("a", count: 10) == nil)
        shares.leave("a", count: 10)
        shares.leave("b", count: 10)
        #expect(shares.keys == 0, "finished calls leave nothing behind")
    }

    @Test("the client's share is charged only for work that runs the cross-encoder: a lexical call, a synonym hit and a cache hit pass a share smaller than their top_k")
    func clientShareOnlyForModelWork() async throws {
        let list = FileManager.default.temporaryDirectory.appendingPathComponent("adrnorm-share-\(UUID().uuidString).csv")
        try "verbatim,llt_code\n脑袋一直疼,95000001\n".write(to: list, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: list) }
        var c = PipelineConfiguration()
        c.scheduling = ScoringSchedulerConfiguration(maxQueuedPairs: 1000)
        c.synonyms = try SynonymList.load(path: list.path, folding: .none, dictionary: DemoServer.dictionary)
        let pipeline = try NormalizationPipeline(dictionary: DemoServer.dictionary, model: DemoServer.model,
                                                 modelDigest: "demo", configuration: c)
        defer { pipeline.shutdown() }
        let description = PipelineService.Description(serverVersion: "test", modelName: "demo", modelIsSynthetic: true,
                                                      dictionaryIsSynthetic: true)
        let tight = PipelineService(pipeline: pipeline, description: description, limits: .init(maxQueuedPairsPerClient: 30))
        let roomy = PipelineService(pipeline: pipeline, description: description, limits: .init(maxQueuedPairsPerClient: 1000))

        // Model work over the share is refused before anything is scored.
        await Self.expectError(.resourceExhausted, containing: "share of 30") { () throws(ServiceError) in
            _ = try await tight.normalize(.init(mention: "头痛", topK: 40), context: Self.context())
        }
        #expect(pipeline.schedulerStatistics?.pairs == 0)
        // The lexical scorer runs no model: no share.
        let lexical = try await tight.normalize(.init(mention: "头痛", topK: 40, scorer: .lexical), context: Self.context())
        #expect(lexical.scorer == .lexical)
        // A synonym-list hit scores nothing.
        let synonym = try await tight.normalize(.init(mention: "脑袋一直疼", topK: 40), context: Self.context())
        #expect(synonym.matches.map(\.source) == [.synonym])
        // A cache hit scores nothing: the same request, scored once through a
        // service with room, is then answered from the cache.
        #expect(try await roomy.normalize(.init(mention: "头痛", topK: 40), context: Self.context()).cached == false)
        let cached = try await tight.normalize(.init(mention: "头痛", topK: 40), context: Self.context())
        #expect(cached.cached && cached.scorer == .model)
        #expect(pipeline.schedulerStatistics?.pairs == 40, "only the roomy call ran the model")
        // Score always runs the model: still held to the share.
        let pairs = Array(repeating: AdrnormV1.ScorePair(mention: "头痛", candidate: .text("头痛")), count: 31)
        await Self.expectError(.resourceExhausted, containing: "share of 30") { () throws(ServiceError) in
            _ = try await tight.score(.init(pairs: pairs), context: Self.context())
        }
    }

    @Test("the pipeline charges a request's pair budget once, for the leader that scores, and gives it back however the call ends")
    func pairChargeLifecycle() async throws {
        var c = PipelineConfiguration()
        c.scheduling = ScoringSchedulerConfiguration(maxQueuedPairs: 1000)
        c.cacheCapacity = 0
        let pipeline = try NormalizationPipeline(dictionary: DemoServer.dictionary, model: DemoServer.model,
                                                 modelDigest: "demo", configuration: c)
        defer { pipeline.shutdown() }
        let budget = AdmissionCounts(limit: 25)
        let charges = Counter()
        let charge = PairCharge(
            charge: { pairs in
                charges.add()
                return budget.enter("c", count: pairs).map { .overloaded("held \($0)") }
            },
            release: { pairs in budget.leave("c", count: pairs) })
        // Served: charged once with its top_k, given back at the end.
        _ = try await pipeline.normalize(NormalizationRequest(mention: "头痛", topK: 20, pairCharge: charge))
        #expect(charges.value == 1 && budget.keys == 0)
        // Over the budget: refused with the charge's own error, nothing scored.
        let before = pipeline.schedulerStatistics?.pairs
        do {
            _ = try await pipeline.normalize(NormalizationRequest(mention: "头痛", topK: 26, pairCharge: charge))
            Issue.record("a 26-pair request passed a 25-pair charge")
        } catch {
            #expect(error == .overloaded("held 0"), "\(error)")
        }
        #expect(pipeline.schedulerStatistics?.pairs == before && budget.keys == 0)
        // Cancelled before scoring, and refused by the scheduler's own bound:
        // given back too.
        let cancelled = CancellationToken()
        cancelled.cancel()
        _ = try? await pipeline.normalize(NormalizationRequest(mention: "头痛", topK: 20, cancellation: cancelled,
                                                               pairCharge: charge))
        #expect(budget.keys == 0)
        _ = try? await pipeline.normalize(NormalizationRequest(mention: "头痛", topK: 20, scorer: .lexical, pairCharge: charge))
        #expect(charges.value == 3, "the lexical call was not charged")
    }

    @Test("Score by pt_code uses the dictionary's precomputed tokens and scores exactly as the same text does")
    func ptCodeEqualsText() async throws {
        let (service, pipeline) = try Self.service(maxQueuedPairs: 1000)
        defer { pipeline.shutdown() }
        let terms = Array(DemoServer.dictionary.terms.prefix(5))
        let mentions = ["头痛", "用药后头晕恶心", "头痛"]
        var byCode: [AdrnormV1.ScorePair] = [], byText: [AdrnormV1.ScorePair] = []
        for m in mentions {
            for (i, t) in terms.enumerated() {
                byCode.append(.init(mention: m, candidate: .ptCode(t.ptCode)))
                byText.append(.init(mention: m, candidate: .text(pipeline.candidateText(candidateIndex: i, template: .full))))
            }
        }
        let a = try await service.score(.init(pairs: byCode), context: Self.context())
        let b = try await service.score(.init(pairs: byText), context: Self.context())
        #expect(a.scores == b.scores)
        #expect(a.scores.count == 15)
    }
}

/// A thread-safe count for the charge closures.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
