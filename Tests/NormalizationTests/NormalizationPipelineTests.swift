import Foundation
import Testing
import Normalization
import Retrieval
import Terminology

@Suite struct NormalizationPipelineLexicalTests {
    @Test("requests are validated with messages that name the field")
    func validation() throws {
        let p = try DemoPipeline.lexical()
        defer { p.shutdown() }
        func error(_ r: NormalizationRequest) -> NormalizationError? {
            do { _ = try p.normalizeAndWait(r); return nil } catch { return error }
        }
        #expect(error(.init(mention: "")) == .invalidArgument(field: "mention", reason: "empty or whitespace only"))
        #expect(error(.init(mention: " \u{3000}\t")) == .invalidArgument(field: "mention", reason: "empty or whitespace only"))
        let long = String(repeating: "头", count: NormalizationDefaults.maxMentionCharacters + 1)
        #expect(error(.init(mention: long)) == .invalidArgument(field: "mention", reason: "513 characters; the limit is 512"))
        #expect(error(.init(mention: String(repeating: "头", count: 512))) == nil)
        #expect(error(.init(mention: "头痛", topK: 0)) == .invalidArgument(field: "top_k", reason: "must be at least 1 (got 0)"))
        // Above the dictionary's PT count: capped, not refused (TopKRuleTests).
        #expect(error(.init(mention: "头痛", topK: 383)) == nil)
        #expect(error(.init(mention: "头痛", topK: 382)) == nil)
        for bad in [Double.nan, -0.01, 1.01, .infinity] {
            guard case .invalidArgument(let field, _)? = error(.init(mention: "头痛", threshold: bad)) else {
                Issue.record("threshold \(bad) accepted"); continue
            }
            #expect(field == "threshold")
        }
        guard case .failedPrecondition? = error(.init(mention: "头痛", scorer: .model)) else {
            Issue.record("model scorer accepted without a model"); return
        }
    }

    @Test("lexical BM25: probability is the retrieval ratio; every PT at or above the threshold is kept")
    func lexicalBM25() throws {
        let p = try DemoPipeline.lexical()
        defer { p.shutdown() }
        let r = try p.normalizeAndWait(.init(id: "m1", mention: "用药后头晕恶心", topK: 20, threshold: 0.5, returnTopScored: 3))
        let hits = try p.retrieve("用药后头晕恶心", topK: 20)
        #expect(r.id == "m1" && r.scorer == .lexical && r.candidates.count == 20)
        #expect(r.candidates.map(\.candidateIndex) == hits.map(\.candidateIndex))
        #expect(r.candidates.map(\.probability) == hits.map(\.probability))
        #expect(Set(r.matches.map(\.candidateIndex)) == Set(hits.filter { $0.probability >= 0.5 }.map(\.candidateIndex)))
        #expect(r.matches.map(\.probability) == r.matches.map(\.probability).sorted(by: >))
        #expect(r.topScored.count == 3 && r.topScored.first?.probability == 1)
    }

    @Test("lexical exact: PTs whose name or alias equals the mention, probability 1")
    func lexicalExact() throws {
        let p = try DemoPipeline.lexical()
        defer { p.shutdown() }
        let term = DemoPipeline.dictionary.terms.first { !$0.lltNames.isEmpty }!
        let r = try p.normalizeAndWait(.init(mention: " \(term.lltNames[0]) ", mode: .exact))
        #expect(r.matches.contains { $0.term.ptCode == term.ptCode })
        #expect(r.matches.allSatisfy { $0.probability == 1 })
        #expect(r.candidates.count == 100)
    }

    @Test("the cache returns what a fresh computation returns, for any threshold")
    func cache() throws {
        let cached = try DemoPipeline.lexical(cache: 100)
        let fresh = try DemoPipeline.lexical(cache: 0)
        defer { cached.shutdown(); fresh.shutdown() }
        for mention in DemoPipeline.mentions {
            _ = try cached.normalizeAndWait(.init(mention: mention, topK: 30))
        }
        for mention in DemoPipeline.mentions {
            for threshold in [0.1, 0.3, 0.9] {
                let a = try cached.normalizeAndWait(.init(mention: mention, topK: 30, threshold: threshold))
                let b = try fresh.normalizeAndWait(.init(mention: mention, topK: 30, threshold: threshold))
                #expect(a.cached && !b.cached)
                #expect(a.matches == b.matches && a.candidates == b.candidates)
            }
        }
        #expect(cached.cacheStatistics.hits == UInt64(DemoPipeline.mentions.count * 3))
        // Another top_k is another key.
        _ = try cached.normalizeAndWait(.init(mention: DemoPipeline.mentions[0], topK: 31))
        #expect(cached.cacheStatistics.misses == UInt64(DemoPipeline.mentions.count + 1))
    }
}
