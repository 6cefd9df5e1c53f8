import Foundation
import Testing

/// Issue 15 item 2: runs that used to give silent or misleading results on
/// the command line now fail loudly, or work and say what they did.
private enum Scratch {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let demoModel = root.appendingPathComponent("Demo/model")

    /// A fresh folder under the system temporary directory (left to the OS).
    static func folder() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("adrnorm-silent-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func file(_ name: String, _ text: String) throws -> String {
        let path = try folder().appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A 3-PT dictionary CSV (fewer PTs than the default top_k 100).
    static func smallDictionary() throws -> String {
        try file("small.csv", """
            pt_code,pt_name,llt_name,hlt_name,hlgt_name,soc_name
            94000001,头痛,头疼,头痛NEC,头痛,神经系统疾病
            94000002,头晕,头昏,头晕NEC,神经系统体征和症状,神经系统疾病
            94000003,恶心,想吐,恶心和呕吐症状,胃肠道体征和症状,胃肠系统疾病

            """)
    }

    /// A copy of the demo model whose vocab.txt and config.json are changed.
    static func demoModelCopy(vocab: (([Substring]) -> [Substring])? = nil,
                              config: (([String: Any]) -> [String: Any])? = nil) throws -> String {
        let dir = try folder().appendingPathComponent("model")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for name in ["model.safetensors", "tokenizer_config.json"] {
            try FileManager.default.copyItem(at: demoModel.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        var tokens = try String(contentsOf: demoModel.appendingPathComponent("vocab.txt"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false)
        if tokens.last == "" { tokens.removeLast() }
        if let vocab { tokens = vocab(tokens) }
        try (tokens.joined(separator: "\n") + "\n").write(to: dir.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: demoModel.appendingPathComponent("config.json")))
            as! [String: Any]
        if let config { object = config(object) }
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            .write(to: dir.appendingPathComponent("config.json"))
        return dir.path
    }

    static func lines(_ stdout: String) throws -> [[String: Any]] {
        try stdout.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }
}

@Suite("normalize: flag errors fail at once; --on-error skip never turns nothing into success")
struct NormalizeSkipTests {
    @Test("--top-k 1000 --on-error skip on the 382-PT demo: every mention normalized with 382 candidates, said once")
    func largeTopKWithSkip() throws {
        let input = try Scratch.file("m.txt", "头痛\n恶心想吐\n")
        let r = try AdrnormExecutable.run(["normalize", "--input", input, "--top-k", "1000", "--on-error", "skip"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try Scratch.lines(r.stdout)
        #expect(rows.count == 2 * 382)
        #expect(Set(rows.compactMap { $0["mention_id"] as? String }) == ["1", "2"])
        #expect(!r.stderr.contains("skipped"), "\(r.stderr)")
        let notes = r.stderr.components(separatedBy: "--top-k 1000 is above the dictionary's 382 PTs").count - 1
        #expect(notes == 1, "\(r.stderr)")
    }

    @Test("a setting the pipeline refuses fails before the input is read (here the input does not even exist)")
    func settingsBeforeInput() throws {
        let r = try AdrnormExecutable.run(["normalize", "--input", "/nonexistent/mentions.txt", "--max-queued-pairs", "50",
                                           "--on-error", "skip"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("--max-queued-pairs 50") && r.stderr.contains("--in-flight"), "\(r.stderr)")
        #expect(!r.stderr.contains("/nonexistent/mentions.txt"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    @Test("every line skipped: exit non-zero, naming the file, what was skipped and the fix")
    func everyLineSkipped() throws {
        let long = String(repeating: "痛", count: 600)
        let input = try Scratch.file("bad.txt", "\(long)\n\(long)头\n")
        let r = try AdrnormExecutable.run(["normalize", "--input", input, "--on-error", "skip", "--scorer", "lexical"])
        #expect(r.status != 0, "\(r.stderr)")
        #expect(r.stderr.contains("nothing was written") && r.stderr.contains(input) && r.stderr.contains("--on-error"),
                "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        // Bad JSONL lines skipped while reading count too.
        let jsonl = try Scratch.file("bad.jsonl", "{\"mention_id\": 1}\n{\"mention_id\": 2, \"text_a\": \"  \"}\n")
        let j = try AdrnormExecutable.run(["normalize", "--input", jsonl, "--on-error", "skip", "--scorer", "lexical"])
        #expect(j.status != 0 && j.stderr.contains("nothing was written"), "\(j.stderr)")
    }

    @Test("some lines skipped, some written: success, with the skipped lines reported")
    func someLinesSkipped() throws {
        let input = try Scratch.file("mixed.txt", "头痛\n\(String(repeating: "痛", count: 600))\n")
        let r = try AdrnormExecutable.run(["normalize", "--input", input, "--on-error", "skip", "--scorer", "lexical",
                                           "--top-k", "3"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Scratch.lines(r.stdout).count == 3)
        #expect(r.stderr.contains("1 line(s) skipped") && r.stderr.contains("\(input):2:"), "\(r.stderr)")
    }
}

@Suite("top_k above the dictionary's PT count is capped, the same in every command")
struct TopKCapCommandTests {
    @Test("normalize on a 3-PT dictionary with the default top_k 100 works and says so once")
    func normalizeSmallDictionary() throws {
        let dictionary = try Scratch.smallDictionary()
        let input = try Scratch.file("m.txt", "头疼\n想吐\n")
        let r = try AdrnormExecutable.run(["normalize", "--dictionary", dictionary, "--input", input, "--emit", "mentions"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Scratch.lines(r.stdout).count == 2)
        #expect(r.stderr.components(separatedBy: "the default --top-k 100 is above the dictionary's 3 PTs: using 3").count == 2,
                "\(r.stderr)")
        let pairs = try AdrnormExecutable.run(["normalize", "--dictionary", dictionary, "--input", input])
        #expect(pairs.status == 0, "\(pairs.stderr)")
        #expect(try Scratch.lines(pairs.stdout).count == 6)
    }

    @Test("retrieve caps and says so; within the dictionary it says nothing")
    func retrieve() throws {
        let dictionary = try Scratch.smallDictionary()
        let r = try AdrnormExecutable.run(["retrieve", "--dictionary", dictionary, "--mention", "头疼"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect((try Scratch.lines(r.stdout)[0]["candidates"] as? [Any])?.count == 3)
        #expect(r.stderr.contains("the default --top-k 100 is above the dictionary's 3 PTs"), "\(r.stderr)")
        let big = try AdrnormExecutable.run(["retrieve", "--mention", "头疼", "--top-k", "1000"])
        #expect(big.status == 0 && big.stderr.contains("--top-k 1000 is above the dictionary's 382 PTs: using 382"))
        let within = try AdrnormExecutable.run(["retrieve", "--mention", "头疼", "--top-k", "382"])
        #expect(within.status == 0 && !within.stderr.contains("above the dictionary"))
    }

    @Test("--help of normalize and retrieve states the cap")
    func help() throws {
        for command in ["normalize", "retrieve"] {
            let r = try AdrnormExecutable.run([command, "--help"])
            #expect(r.status == 0 && r.stdout.contains("capped"), "\(command)")
        }
    }
}

@Suite("evaluate refuses predictions without gold labels")
struct EvaluateWithoutGoldTests {
    static let row = "\"text_a\": \"头痛\", \"candidate_pt_name\": \"头痛\""

    @Test("no gold_pt_codes and no label anywhere: refused, naming the file and the missing fields")
    func noGold() throws {
        let file = try Scratch.file("unlabelled.jsonl", """
            {"mention_id": "a", \(Self.row), "candidate_pt_code": "1", "prob_1": 0.9}
            {"mention_id": "a", \(Self.row), "candidate_pt_code": "2", "prob_1": 0.1}
            {"mention_id": "b", \(Self.row), "candidate_pt_code": "1", "prob_1": 0.4}

            """)
        let r = try AdrnormExecutable.run(["evaluate", "--predictions", file])
        #expect(r.status != 0)
        #expect(r.stdout.isEmpty, "printed metrics: \(r.stdout)")
        #expect(r.stderr.contains(file) && r.stderr.contains("gold_pt_codes") && r.stderr.contains("label"), "\(r.stderr)")
    }

    @Test("normalize output of unlabelled mentions is refused too; of labelled mentions it is evaluated")
    func fromNormalize() throws {
        let plain = try Scratch.file("m.txt", "头痛\n")
        let predictions = try Scratch.folder().appendingPathComponent("p.jsonl").path
        let n = try AdrnormExecutable.run(["normalize", "--input", plain, "--top-k", "5", "--output", predictions])
        #expect(n.status == 0, "\(n.stderr)")
        let r = try AdrnormExecutable.run(["evaluate", "--predictions", predictions])
        #expect(r.status != 0 && r.stderr.contains(predictions) && r.stderr.contains("no gold labels"), "\(r.stderr)")
    }

    @Test("a partly labelled file is evaluated with a warning naming the first unlabelled mention")
    func partlyLabelled() throws {
        let file = try Scratch.file("partial.jsonl", """
            {"mention_id": "a", \(Self.row), "candidate_pt_code": "1", "prob_1": 0.9, "label": 1}
            {"mention_id": "b", \(Self.row), "candidate_pt_code": "1", "prob_1": 0.4}

            """)
        let r = try AdrnormExecutable.run(["evaluate", "--predictions", file])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("1 of 2 mention(s)") && r.stderr.contains("mention_id b, line 2"), "\(r.stderr)")
    }
}

@Suite("model folders: a short vocab.txt is refused, unnamed labels are warned about")
struct ModelFolderCommandTests {
    @Test("a vocab.txt shorter than vocab_size is refused, naming the file, the sizes and --allow-vocab-mismatch")
    func shortVocabulary() throws {
        let model = try Scratch.demoModelCopy(vocab: { Array($0.dropLast(3)) })
        let input = try Scratch.file("m.txt", "头痛\n")
        let r = try AdrnormExecutable.run(["normalize", "--model", model, "--input", input, "--top-k", "3"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("\(model)/vocab.txt") && r.stderr.contains("3940 tokens")
                && r.stderr.contains("vocab_size 3943") && r.stderr.contains("--allow-vocab-mismatch"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        let allowed = try AdrnormExecutable.run(["normalize", "--model", model, "--input", input, "--top-k", "3",
                                                 "--allow-vocab-mismatch"])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(allowed.stderr.contains("warning:") && allowed.stderr.contains("--allow-vocab-mismatch"), "\(allowed.stderr)")
        #expect(try Scratch.lines(allowed.stdout).count == 3)
    }

    @Test("config.json without id2label, or with LABEL_0/LABEL_1: loaded with a loud warning that index 1 is the match label",
          arguments: ["absent", "placeholders"])
    func unnamedLabels(kind: String) throws {
        let model = try Scratch.demoModelCopy(config: { c in
            var c = c
            if kind == "absent" {
                c["id2label"] = nil
                c["label2id"] = nil
            } else {
                c["id2label"] = ["0": "LABEL_0", "1": "LABEL_1"]
                c["label2id"] = ["LABEL_0": 0, "LABEL_1": 1]
            }
            return c
        })
        let input = try Scratch.file("m.txt", "头痛\n")
        let r = try AdrnormExecutable.run(["normalize", "--model", model, "--input", input, "--top-k", "3"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("warning:") && r.stderr.contains("\(model)/config.json")
                && r.stderr.contains("index 1") && r.stderr.contains("match label"), "\(r.stderr)")
        // The demo model itself names its labels: no warning.
        let demo = try AdrnormExecutable.run(["normalize", "--input", input, "--top-k", "3"])
        #expect(demo.status == 0 && !demo.stderr.contains("match label"), "\(demo.stderr)")
    }

    @Test("--allow-vocab-mismatch is offered by serve and normalize")
    func flagInHelp() throws {
        for command in ["serve", "normalize"] {
            let r = try AdrnormExecutable.run([command, "--help"])
            #expect(r.status == 0 && r.stdout.contains("--allow-vocab-mismatch"), "\(command)")
        }
    }
}
