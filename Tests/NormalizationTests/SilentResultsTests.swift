import CrossEncoder
import Foundation
import Normalization
import Retrieval
import Terminology
import Testing

/// Issue 15 item 2 at the library level: the `top_k` rule, the gold check of
/// evaluation, and the model folder checks.

/// A 3-PT dictionary (fewer PTs than the default top_k 100).
private func smallDictionary() throws -> CandidateDictionary {
    let csv = FileManager.default.temporaryDirectory.appendingPathComponent("adrnorm-small-\(UUID().uuidString).csv")
    try """
        pt_code,pt_name,llt_name,hlt_name,hlgt_name,soc_name
        94000001,头痛,头疼,头痛NEC,头痛,神经系统疾病
        94000002,头晕,头昏,头晕NEC,神经系统体征和症状,神经系统疾病
        94000003,恶心,想吐,恶心和呕吐症状,胃肠道体征和症状,胃肠系统疾病

        """.write(to: csv, atomically: true, encoding: .utf8)
    return try CandidateDictionary.load(path: csv.path)
}

@Suite struct TopKRuleTests {
    @Test("the rule: nil is the default, below 1 is refused, above the PT count is capped and says so")
    func rule() throws {
        let k = try TopK.resolve(nil, dictionarySize: 382)
        #expect(k.requested == 100 && k.effective == 100 && k.dictionarySize == 382 && k.isDefault && !k.isCapped)
        #expect(k.capNote(name: "--top-k") == nil)
        let big = try TopK.resolve(1000, dictionarySize: 382)
        #expect(big.effective == 382 && big.isCapped && !big.isDefault)
        #expect(big.capNote(name: "top_k")?.hasPrefix("top_k 1000 is above the dictionary's 382 PTs: using 382") == true)
        let small = try TopK.resolve(nil, dictionarySize: 3)
        #expect(small.effective == 3 && small.capNote(name: "--top-k")?.hasPrefix("the default --top-k 100") == true)
        #expect(try TopK.resolve(382, dictionarySize: 382).isCapped == false)
        #expect(throws: NormalizationError.invalidArgument(field: "top_k", reason: "must be at least 1 (got 0)")) {
            try TopK.resolve(0, dictionarySize: 382)
        }
    }

    @Test("a pipeline over fewer PTs than the default top_k answers with every PT, for nil, 100 and 1000")
    func smallDictionaryPipeline() throws {
        let p = try NormalizationPipeline(dictionary: try smallDictionary(), model: nil)
        defer { p.shutdown() }
        #expect(p.effectiveDefaultTopK == 3)
        for topK in [nil, 100, 1000] as [Int?] {
            #expect(try p.retrieve("头疼", topK: topK).count == 3)
            let r = try p.normalizeAndWait(.init(mention: "头疼", topK: topK, returnTopScored: 50))
            #expect(r.candidates.count == 3 && r.topScored.count == 3)
        }
        #expect(try p.retrieve("头疼", topK: 2).count == 2)
        #expect(throws: NormalizationError.self) { try p.retrieve("头疼", topK: 0) }
    }

    @Test("the demo dictionary: 1000 and 382 are the same request (and share the cache)")
    func capShared() throws {
        let p = try DemoPipeline.lexical()
        defer { p.shutdown() }
        let a = try p.normalizeAndWait(.init(mention: "头痛", topK: 1000))
        let b = try p.normalizeAndWait(.init(mention: "头痛", topK: 382))
        #expect(a.candidates.count == 382 && b.cached)
        #expect(a.candidates == b.candidates)
    }

    @Test("validateSettings refuses what every request would be refused for, without a mention")
    func validateSettings() throws {
        let p = try DemoPipeline.lexical()
        defer { p.shutdown() }
        try p.validateSettings(of: .init(mention: "", topK: 1000, threshold: 0.3))
        #expect(throws: NormalizationError.self) { try p.validateSettings(of: .init(mention: "", topK: 0)) }
        #expect(throws: NormalizationError.self) { try p.validateSettings(of: .init(mention: "", threshold: 2)) }
        #expect(throws: NormalizationError.self) { try p.validateSettings(of: .init(mention: "", scorer: .model)) }
    }
}

@Suite struct EvaluationGoldTests {
    static func record(_ id: String, _ code: String, gold: [String] = [], label: Int? = nil) -> PairRecord {
        var r = PairRecord(mentionID: id, mention: "头痛", candidate: PreferredTerm(ptCode: code, ptName: "p"),
                           goldPTCodes: gold, label: label)
        r.prediction = .init(prob1: 0.7, predLabel: 1)
        return r
    }

    @Test("no gold_pt_codes and no label on any line: refused")
    func noGold() {
        #expect(throws: Evaluation.Error.noGold(lines: 3, mentions: 2)) {
            try Evaluation.requireGold([Self.record("a", "1"), Self.record("a", "2"), Self.record("b", "1")])
        }
        #expect(Evaluation.Error.noGold(lines: 3, mentions: 2).description.contains("gold_pt_codes or label"))
    }

    @Test("labels or gold codes: accepted; unlabelled mentions are counted with the first one's line")
    func coverage() throws {
        let full = try Evaluation.requireGold([Self.record("a", "1", label: 0), Self.record("b", "1", gold: ["1"])])
        #expect(full.unlabelledMentions == 0 && full.mentionCount == 2 && full.firstUnlabelledID == nil)
        let partial = try Evaluation.requireGold([Self.record("a", "1", label: 1), Self.record("b", "1"), Self.record("c", "2")],
                                                 lineNumbers: [3, 5, 9])
        #expect(partial.unlabelledMentions == 2 && partial.firstUnlabelledID == "b" && partial.firstUnlabelledLine == 5)
    }
}

@Suite struct ModelFolderCheckTests {
    static let demo = URL(fileURLWithPath: DemoPipeline.modelPath)

    /// A copy of the demo model with `vocab.txt` and `config.json` edited.
    static func copy(vocab: ([String]) -> [String] = { $0 }, config: ([String: Any]) -> [String: Any] = { $0 }) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("adrnorm-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for name in ["model.safetensors", "tokenizer_config.json"] {
            try FileManager.default.copyItem(at: demo.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        var lines = try String(contentsOf: demo.appendingPathComponent("vocab.txt"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        lines = vocab(lines)
        try (lines.joined(separator: "\n") + "\n").write(to: dir.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: demo.appendingPathComponent("config.json"))) as! [String: Any]
        try JSONSerialization.data(withJSONObject: config(object)).write(to: dir.appendingPathComponent("config.json"))
        return dir.path
    }

    @Test("the demo model: vocab.txt has exactly vocab_size tokens, the labels are named, no warnings")
    func demoModel() throws {
        let scorer = try PairScorer(modelDirectory: Self.demo.path)
        #expect(scorer.tokenizer.vocabulary.count == scorer.model.config.vocabSize)
        #expect(scorer.warnings.isEmpty && scorer.model.config.hasMatchLabel)
    }

    @Test("a vocab.txt shorter than vocab_size: refused by default, a warning when allowed")
    func shortVocabulary() throws {
        let dir = try Self.copy(vocab: { Array($0.prefix(3900)) })
        do {
            _ = try PairScorer(modelDirectory: dir)
            Issue.record("a 3900-token vocab.txt for vocab_size 3943 was accepted")
        } catch {
            #expect(error.description.hasPrefix("\(dir)/vocab.txt") && error.description.contains("3900 tokens")
                    && error.description.contains("vocab_size 3943") && error.description.contains("--allow-vocab-mismatch"),
                    "\(error)")
        }
        let allowed = try PairScorer(modelDirectory: dir, allowVocabularyMismatch: true)
        #expect(allowed.warnings.count == 1 && allowed.warnings[0].contains("3900 tokens"))
        // Longer than vocab_size stays an error, allowed or not.
        let long = try Self.copy(vocab: { $0 + ["[extra1]", "[extra2]"] })
        do {
            _ = try PairScorer(modelDirectory: long, allowVocabularyMismatch: true)
            Issue.record("a vocab.txt longer than vocab_size was accepted")
        } catch {
            #expect(error.description.contains("vocab_size") && error.description.contains("3945 tokens"), "\(error)")
        }
    }

    @Test("labels not named: index 1 by convention, with a warning naming config.json", arguments: [
        "absent", "placeholders", "other names",
    ])
    func labels(kind: String) throws {
        let dir = try Self.copy(config: { c in
            var c = c
            switch kind {
            case "absent": c["id2label"] = nil; c["label2id"] = nil
            case "placeholders": c["id2label"] = ["0": "LABEL_0", "1": "LABEL_1"]
            default: c["id2label"] = ["0": "neg", "1": "pos"]
            }
            return c
        })
        let scorer = try PairScorer(modelDirectory: dir)
        #expect(scorer.model.config.matchIndex == 1 && !scorer.model.config.hasMatchLabel)
        #expect(scorer.model.config.hasID2Label == (kind != "absent"))
        #expect(scorer.warnings.count == 1)
        let warning = scorer.warnings.first ?? ""
        #expect(warning.hasPrefix("\(dir)/config.json") && warning.contains("index 1") && warning.contains("match label"), "\(warning)")
        #expect(warning.contains(kind == "absent" ? "no id2label" : kind == "placeholders" ? "placeholder" : "\"pos\""), "\(warning)")
    }
}
