import Foundation
import Testing
import Normalization
import Terminology

/// Results agree when the probabilities agree within 1e-5 (batches of other
/// sizes round differently in the GEMMs) and the decisions are the same.
func expectSameResult(_ a: NormalizationResult, _ b: NormalizationResult, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.candidates.map(\.candidateIndex) == b.candidates.map(\.candidateIndex), sourceLocation: sourceLocation)
    #expect(Set(a.matches.map(\.candidateIndex)) == Set(b.matches.map(\.candidateIndex)), sourceLocation: sourceLocation)
    for (x, y) in zip(a.candidates, b.candidates) {
        #expect(abs(x.probability - y.probability) < 1e-5, sourceLocation: sourceLocation)
    }
}

@Suite(.serialized) struct NormalizationPipelineModelTests {
    @Test("8 threads normalizing different mentions give the sequential results")
    func concurrentThreads() throws {
        let pipeline = try DemoPipeline.withModel(cache: 0)
        defer { pipeline.shutdown() }
        let mentions = DemoPipeline.mentions
        let sequential = try mentions.map { try pipeline.normalizeAndWait(.init(id: $0, mention: $0, topK: 40)) }
        let results = ConcurrentResults(count: mentions.count)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for i in stride(from: worker, to: mentions.count, by: 8) {
                results.set(i, try? pipeline.normalizeAndWait(.init(id: mentions[i], mention: mentions[i], topK: 40)))
            }
        }
        for (i, expected) in sequential.enumerated() {
            let got = try #require(results.value(i), "mention \(i) failed")
            #expect(got.id == expected.id)
            expectSameResult(got, expected)
        }
        let stats = try #require(pipeline.schedulerStatistics)
        #expect(stats.pairs == mentions.count * 40 * 2)
    }

    @Test("probabilities are the model's prob_1 for the rendered pair")
    func probabilities() throws {
        let pipeline = try DemoPipeline.withModel()
        defer { pipeline.shutdown() }
        let r = try pipeline.normalizeAndWait(.init(mention: "用药后头晕", topK: 5))
        let pairs = r.candidates.map { ("用药后头晕", pipeline.candidateText(candidateIndex: $0.candidateIndex, template: .full)) }
        let direct = try DemoPipeline.model.score(pairs.map { (mention: $0.0, candidate: $0.1) })
        for (c, d) in zip(r.candidates, direct) { #expect(abs(c.probability - Double(d.matchProbability)) < 1e-5) }
        #expect(r.matches.allSatisfy { $0.probability >= 0.3 })
        #expect(r.candidates.filter { $0.probability >= 0.3 }.count == r.matches.count)
    }

    @Test("overload is an immediate error and loses no admitted request")
    func overload() throws {
        let pipeline = try DemoPipeline.withModel(cache: 0, scheduling: .init(maxQueuedPairs: 300))
        defer { pipeline.shutdown() }
        let outcomes = ConcurrentOutcomes()
        let group = DispatchGroup()
        for i in 0..<12 {
            group.enter()
            pipeline.normalize(.init(id: "\(i)", mention: DemoPipeline.mentions[i] + "\(i)", topK: 100)) { result in
                outcomes.add(i, result)
                group.leave()
            }
        }
        #expect(group.wait(timeout: .now() + 120) == .success)
        let all = outcomes.all
        #expect(all.count == 12)
        let overloaded = all.filter { if case .failure(.overloaded) = $0.1 { true } else { false } }
        let succeeded = all.filter { if case .success = $0.1 { true } else { false } }
        #expect(!overloaded.isEmpty, "300 queued pairs cannot hold 12 × 100")
        #expect(succeeded.count + overloaded.count == 12, "every request ends as a result or an overload error")
        #expect(succeeded.count >= 3)
    }

    @Test("cache hits return what a fresh computation returns; other thresholds re-decode without scoring")
    func cache() throws {
        let cached = try DemoPipeline.withModel(cache: 100)
        let fresh = try DemoPipeline.withModel(cache: 0)
        defer { cached.shutdown(); fresh.shutdown() }
        for m in DemoPipeline.mentions.prefix(6) { _ = try cached.normalizeAndWait(.init(mention: m, topK: 20)) }
        let pairsBefore = cached.schedulerStatistics!.pairs
        for m in DemoPipeline.mentions.prefix(6) {
            for t in [0.05, 0.3, 0.8] {
                let a = try cached.normalizeAndWait(.init(mention: m, topK: 20, threshold: t))
                let b = try fresh.normalizeAndWait(.init(mention: m, topK: 20, threshold: t))
                #expect(a.cached)
                #expect(a.matches.map(\.candidateIndex) == b.matches.map(\.candidateIndex))
                #expect(a.matches.map(\.probability) == b.matches.map(\.probability))
            }
        }
        #expect(cached.schedulerStatistics!.pairs == pairsBefore, "a cache hit must not score")
    }

    @Test("identical concurrent requests are scored once")
    func singleFlight() throws {
        let pipeline = try DemoPipeline.withModel(cache: 100)
        defer { pipeline.shutdown() }
        let group = DispatchGroup()
        let outcomes = ConcurrentOutcomes()
        for i in 0..<10 {
            group.enter()
            pipeline.normalize(.init(id: "\(i)", mention: "吃完药后一直犯困头晕", topK: 50, threshold: i < 5 ? 0.3 : 0.6)) { r in
                outcomes.add(i, r)
                group.leave()
            }
        }
        #expect(group.wait(timeout: .now() + 60) == .success)
        #expect(pipeline.schedulerStatistics!.pairs == 50)
        let results = outcomes.all.compactMap { try? $0.1.get() }
        #expect(results.count == 10)
        #expect(Set(results.map(\.id)).count == 10)
        for r in results { #expect(r.matches.allSatisfy { $0.probability >= r.threshold }) }
    }
}

final class ConcurrentResults: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [NormalizationResult?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ v: NormalizationResult?) { lock.lock(); values[i] = v; lock.unlock() }
    func value(_ i: Int) -> NormalizationResult? { lock.lock(); defer { lock.unlock() }; return values[i] }
}

final class ConcurrentOutcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [(Int, Result<NormalizationResult, NormalizationError>)] = []
    func add(_ i: Int, _ r: Result<NormalizationResult, NormalizationError>) { lock.lock(); values.append((i, r)); lock.unlock() }
    var all: [(Int, Result<NormalizationResult, NormalizationError>)] { lock.lock(); defer { lock.unlock() }; return values }
}
