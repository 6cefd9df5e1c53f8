import Cancellation
import Foundation
import Normalization
import RPCServer
import ServiceAdapter
import Testing
import Wire

/// Admission in the service: one bound in pairs (the scoring scheduler's
/// `--max-queued-pairs`) for the calls that score, checked before any
/// retrieval or tokenization, and a small bound of its own for the calls
/// that score nothing (`--max-unscored-calls`).
@Suite struct ServiceAdmissionTests {
    static func service(maxQueuedPairs: Int) throws -> (PipelineService, NormalizationPipeline) {
        var c = PipelineConfiguration()
        c.scheduling = ScoringSchedulerConfiguration(maxQueuedPairs: maxQueuedPairs)
        c.cacheCapacity = 0
        let pipeline = try NormalizationPipeline(dictionary: DemoServer.dictionary, model: DemoServer.model,
                                                 modelDigest: "demo", configuration: c)
        return (PipelineService(pipeline: pipeline, description: .init(
            serverVersion: "test", modelName: "demo", modelIsSynthetic: true, dictionaryIsSynthetic: true)), pipeline)
    }

    static func context() -> CallContext {
        CallContext(method: NormalizerMethod.normalize.rawValue, streamID: StreamID(1), peer: nil, metadata: [:],
                    deadline: nil, cancellation: CancellationToken())
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
        let counter = AdmissionCounter(limit: 2)
        #expect(counter.enter() && counter.enter())
        #expect(!counter.enter())
        counter.leave()
        #expect(counter.enter())
        #expect(!counter.enter())
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
}
