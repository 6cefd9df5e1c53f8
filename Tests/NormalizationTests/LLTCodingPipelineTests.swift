import Foundation
import Normalization
import Terminology
import Testing

@Suite("LLT coding, synonym list, review flags and provenance in the pipeline")
struct LLTCodingPipelineTests {
    static func synonyms(_ text: String, folding: SynonymList.Folding = .none) throws -> SynonymList {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("adrnorm-synonyms-\(UUID().uuidString).csv")
        try text.write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        return try SynonymList.load(path: url.path, folding: folding, dictionary: DemoPipeline.dictionary)
    }

    static func pipeline(model: Bool, synonyms: SynonymList? = nil, margin: Double = 0.1) throws -> NormalizationPipeline {
        var c = PipelineConfiguration()
        c.cacheCapacity = 0
        c.synonyms = synonyms
        c.reviewMargin = margin
        return try NormalizationPipeline(dictionary: DemoPipeline.dictionary, model: model ? DemoPipeline.model : nil,
                                         modelDigest: model ? "demo-digest" : nil, configuration: c)
    }

    @Test("needs_review: no match; a probability within the margin of the threshold, both sides, margins included")
    func reviewRule() {
        // Binary fractions, so the margins are exact.
        #expect(ReviewReason.evaluate(probabilities: [0.1, 0.2], threshold: 0.5, margin: 0.25) == .noMatch)
        #expect(ReviewReason.evaluate(probabilities: [], threshold: 0.5, margin: 0.25) == .noMatch)
        #expect(ReviewReason.evaluate(probabilities: [0.75], threshold: 0.5, margin: 0.25) == .nearThreshold)
        #expect(ReviewReason.evaluate(probabilities: [1, 0.25], threshold: 0.5, margin: 0.25) == .nearThreshold)
        #expect(ReviewReason.evaluate(probabilities: [0.7500001, 0.2499999], threshold: 0.5, margin: 0.25) == nil)
        #expect(ReviewReason.evaluate(probabilities: [1, 0], threshold: 0.5, margin: 0) == nil)
        #expect(ReviewReason.evaluate(probabilities: [0.5], threshold: 0.5, margin: 0) == .nearThreshold)
    }

    @Test("every match is coded; the PT decisions are the same with and without coding data")
    func matchesCoded() throws {
        let p = try Self.pipeline(model: true)
        // A dictionary without LLT codes, built from the same candidates.
        let bare = CandidateDictionary(terms: DemoPipeline.dictionary.terms)
        var c = PipelineConfiguration()
        c.cacheCapacity = 0
        let q = try NormalizationPipeline(dictionary: bare, model: DemoPipeline.model, modelDigest: "demo-digest", configuration: c)
        defer { p.shutdown(); q.shutdown() }
        var coded = 0
        for mention in DemoPipeline.mentions + ["脑袋疼", "头部疼"] {
            let r = try p.normalizeAndWait(NormalizationRequest(mention: mention, topK: 20))
            let s = try q.normalizeAndWait(NormalizationRequest(mention: mention, topK: 20))
            #expect(r.matches.map(\.term.ptCode) == s.matches.map(\.term.ptCode))
            #expect(r.candidates.map(\.probability) == s.candidates.map(\.probability))
            for m in r.matches {
                let llt = try #require(m.llt)
                #expect(llt == DemoPipeline.dictionary.codingLLT(candidateIndex: m.candidateIndex, mention: mention))
                #expect(DemoPipeline.dictionary.llts[m.candidateIndex].contains { $0.code == llt.code && $0.name == llt.name })
                #expect(m.source == .model)
                coded += 1
            }
            #expect(r.candidates.filter { $0.llt != nil }.isEmpty)
        }
        #expect(coded >= 10)
        let headache = try p.normalizeAndWait(NormalizationRequest(mention: "脑袋疼", mode: .exact, scorer: .lexical))
        #expect(headache.matches.first { $0.term.ptCode == "94000001" }?.llt == CodedLLT(code: "95000002", name: "脑袋疼", how: .exact))
    }

    @Test("provenance: the dictionary's version and digests, the weights digest, the settings applied")
    func provenance() throws {
        let p = try Self.pipeline(model: true)
        defer { p.shutdown() }
        let r = try p.normalizeAndWait(NormalizationRequest(mention: "恶心想吐", topK: 7, threshold: 0.25, template: .ptLLT))
        let d = DemoPipeline.dictionary
        #expect(r.provenance == Provenance(medDRAVersion: "", dictionaryDigest: d.digest, lltDigest: d.lltDigest,
                                           weightsSHA256: "demo-digest", precision: "fp32", scorer: .model,
                                           template: .ptLLT, mode: .bm25, topK: 7, threshold: 0.25, reviewMargin: 0.1,
                                           synonymsDigest: "", synonymsFolding: ""))
        let lexical = try p.normalizeAndWait(NormalizationRequest(mention: "恶心想吐", mode: .exact, scorer: .lexical))
        #expect(lexical.provenance.weightsSHA256 == "" && lexical.provenance.precision == "")
        #expect(lexical.provenance.topK == 100 && lexical.provenance.threshold == 0.3 && lexical.provenance.mode == .exact)
        #expect(lexical.matches.allSatisfy { $0.source == .lexical })
    }

    @Test("a synonym hit codes the listed LLT and its PT without scoring; a miss runs the pipeline unchanged; both counted")
    func synonymHitAndMiss() throws {
        let list = try Self.synonyms("verbatim,llt_code\n吃完药后一直犯困头晕,95000001\n", folding: .widthCase)
        let p = try Self.pipeline(model: true, synonyms: list)
        let plain = try Self.pipeline(model: true)
        defer { p.shutdown(); plain.shutdown() }
        let hit = try p.normalizeAndWait(NormalizationRequest(id: "a", mention: " 吃完药后一直犯困头晕 ", returnTopScored: 2))
        #expect(hit.matches.count == 1)
        let m = try #require(hit.matches.first)
        #expect(m.term.ptCode == "94000001" && m.source == .synonym && m.probability == 1 && m.retrievalRank == 0)
        #expect(m.llt == CodedLLT(code: "95000001", name: "头疼", how: .synonym))
        #expect(hit.topScored.count == 1 && hit.candidates.count == 1 && !hit.needsReview)
        #expect(hit.provenance.synonymsDigest == list.digest && hit.provenance.synonymsFolding == "width-case")
        #expect(hit.timings.inference == .zero)

        for mention in DemoPipeline.mentions.dropFirst() {
            let a = try p.normalizeAndWait(NormalizationRequest(mention: mention, topK: 20))
            let b = try plain.normalizeAndWait(NormalizationRequest(mention: mention, topK: 20))
            #expect(a.matches == b.matches && a.candidates == b.candidates && a.reviewReason == b.reviewReason)
        }
        let stats = p.codingStatistics
        #expect(stats.synonymHits == 1)
        #expect(stats.needsReview == plain.codingStatistics.needsReview)
        // Still validated: a bad setting fails even for a listed mention.
        #expect(throws: NormalizationError.self) {
            try p.normalizeAndWait(NormalizationRequest(mention: "吃完药后一直犯困头晕", threshold: 2))
        }
    }

    @Test("needs_review on pipeline results follows the rule and is counted")
    func reviewFlags() throws {
        let p = try Self.pipeline(model: true, margin: 0.05)
        defer { p.shutdown() }
        var flagged: UInt64 = 0
        for mention in DemoPipeline.mentions {
            let r = try p.normalizeAndWait(NormalizationRequest(mention: mention, topK: 20))
            #expect(r.reviewReason == ReviewReason.evaluate(probabilities: r.candidates.map(\.probability),
                                                            threshold: 0.3, margin: 0.05))
            if r.matches.isEmpty { #expect(r.reviewReason == .noMatch) }
            if r.needsReview { flagged += 1 }
        }
        #expect(p.codingStatistics.needsReview == flagged)
        // A threshold placed on a candidate's probability flags it.
        let r = try p.normalizeAndWait(NormalizationRequest(mention: "恶心想吐", topK: 20))
        let probability = try #require(r.matches.first?.probability)
        let at = try p.normalizeAndWait(NormalizationRequest(mention: "恶心想吐", topK: 20, threshold: probability))
        #expect(at.reviewReason == .nearThreshold)
        let above = try p.normalizeAndWait(NormalizationRequest(mention: "恶心想吐", topK: 20, threshold: min(1, probability + 0.0001)))
        #expect(above.reviewReason == (above.matches.isEmpty ? .noMatch : .nearThreshold))
    }

    @Test("a synonym list loaded against another dictionary is refused; the review margin must be in [0, 1]")
    func configurationChecks() throws {
        let list = try Self.synonyms("verbatim,llt_code\n头很痛,94000001\n")
        var c = PipelineConfiguration()
        c.synonyms = list
        let other = CandidateDictionary(terms: Array(DemoPipeline.dictionary.terms.prefix(3)))
        #expect(throws: NormalizationError.self) { try NormalizationPipeline(dictionary: other, model: nil, configuration: c) }
        var d = PipelineConfiguration()
        d.reviewMargin = 1.5
        #expect(throws: NormalizationError.invalidArgument(field: "review_margin", reason: "must be in [0, 1] (got 1.5)")) {
            try NormalizationPipeline(dictionary: DemoPipeline.dictionary, model: nil, configuration: d)
        }
    }
}
