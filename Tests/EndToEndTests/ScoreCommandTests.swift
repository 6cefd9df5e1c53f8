import Foundation
import Testing

private let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()
private let chineseVocab = repositoryRoot.appendingPathComponent("Tests/CrossEncoderTests/Fixtures/tokenizer/chinese-vocab").path
/// The committed tiny random model with transformers' outputs (Scripts/encoder/tiny_model_fixture.py).
private let tinyModel = repositoryRoot.appendingPathComponent("Tests/CrossEncoderTests/Fixtures/tiny-model").path

/// A file in a fresh folder under the system temporary directory (left for
/// the OS to clean; each is a few hundred bytes).
private func temporaryFile(_ name: String, _ text: String) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("adrnorm-score-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let path = dir.appendingPathComponent(name).path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

private func jsonObject(_ line: some StringProtocol) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
}

@Suite("adrnorm tokenize")
struct TokenizeCommandTests {
    @Test("prints input_ids, token_type_ids and tokens of [CLS] a [SEP] b [SEP]")
    func pair() throws {
        let result = try AdrnormExecutable.run(["tokenize", "--model", chineseVocab, "--text-a", "吃完药后头晕",
                                                "--text-b", "PT: 头晕", "--max-length", "10"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try jsonObject(result.stdout)
        #expect(object["tokens"] as? [String] == ["[CLS]", "吃", "完", "药", "后", "[SEP]", "p", "##t", ":", "[SEP]"])
        #expect((object["token_type_ids"] as? [Int]) == [0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
        #expect((object["input_ids"] as? [Int])?.first == 101)
    }

    @Test("without --model the synthetic demo model is used and stderr says so; a bad --max-length is named")
    func errors() throws {
        let demo = try AdrnormExecutable.run(["tokenize", "--text-a", "头痛"])
        #expect(demo.status == 0 && demo.stderr.contains("SYNTHETIC demo model"))
        #expect((try jsonObject(demo.stdout)["tokens"] as? [String]) == ["[CLS]", "头", "痛", "[SEP]"])
        let short = try AdrnormExecutable.run(["tokenize", "--model", chineseVocab, "--text-a", "x", "--text-b", "y",
                                               "--max-length", "2"])
        #expect(short.status != 0 && short.stderr.contains("max_length"))
        #expect(short.stdout.isEmpty)
    }
}

@Suite("adrnorm score")
struct ScoreCommandTests {
    @Test("bad lines are reported with their line numbers and nothing is written")
    func badLines() throws {
        let input = try temporaryFile("pairs.jsonl", """
            {"mention_id": "m1", "text_a": "头痛", "candidate_pt_name": "头痛"}
            {"mention_id": "m1"}

            not json
            """)
        let result = try AdrnormExecutable.run(["score", "--model", chineseVocab, "--input", input])
        #expect(result.status != 0)
        #expect(result.stderr.contains("line 2") && result.stderr.contains("line 4"))
        #expect(!result.stderr.contains("line 1:"))
        #expect(result.stdout.isEmpty)
    }

    @Test("a model folder without weights is an error naming the folder")
    func noWeights() throws {
        let input = try temporaryFile("pairs.jsonl", "{\"mention_id\": \"m1\", \"text_a\": \"x\", \"candidate_pt_name\": \"y\"}\n")
        let result = try AdrnormExecutable.run(["score", "--model", chineseVocab, "--input", input])
        #expect(result.status != 0)
        #expect(result.stderr.contains("chinese-vocab"))
    }

    @Test("predictions equal transformers' for the committed tiny random model")
    func matchesTransformers() throws {
        let model = tinyModel
        let expected = try jsonObject(try String(contentsOfFile: model + "/expected.json", encoding: .utf8))
        // The golden pairs use the candidate text as written; pt_only renders "PT: {name}",
        // so use the cases whose candidate is exactly that.
        let cases = (expected["cases"] as! [[String: Any]]).filter {
            let b = $0["b"] as! String
            return b.hasPrefix("PT: ") && !b.contains("；")
        }
        #expect(cases.count >= 3)
        var lines: [String] = []
        for (i, c) in cases.enumerated() {
            let name = String((c["b"] as! String).dropFirst(4))
            let record: [String: Any] = ["mention_id": "m\(i)", "text_a": c["a"] as! String, "candidate_pt_name": name,
                                         "label": i % 2]
            lines.append(String(decoding: try JSONSerialization.data(withJSONObject: record), as: UTF8.self))
        }
        let input = try temporaryFile("pairs.jsonl", lines.joined(separator: "\n") + "\n")
        let outputPath = input + ".out"
        let result = try AdrnormExecutable.run(["score", "--model", model, "--input", input, "--template", "pt_only",
                                                "--batch-size", "2", "--output", outputPath])
        #expect(result.status == 0, "\(result.stderr)")
        let outputLines = try String(contentsOfFile: outputPath, encoding: .utf8).split(separator: "\n")
        #expect(outputLines.count == cases.count)
        for (line, c) in zip(outputLines, cases) {
            let object = try jsonObject(line)
            let probabilities = (c["probabilities"] as! [NSNumber]).map(\.doubleValue)
            let logits = (c["logits"] as! [NSNumber]).map(\.doubleValue)
            let prob1 = try #require(object["prob_1"] as? Double)
            #expect(abs(prob1 - probabilities[1]) <= 1e-5)
            #expect(abs((object["prob_0"] as! Double) - probabilities[0]) <= 1e-5)
            #expect(abs((object["logit_1"] as! Double) - logits[1]) <= 1e-4)
            #expect(abs((object["logit_0"] as! Double) - logits[0]) <= 1e-4)
            #expect((object["pred_label"] as? Int) == (prob1 >= 0.5 ? 1 : 0))
            #expect(object["label"] != nil && object["text_a"] as? String == c["a"] as? String)
        }
    }

    @Test("the committed demo model tells 脑袋疼 → 头痛 from 脑袋疼 → 头晕, writing every prediction field")
    func demoModel() throws {
        let demo = repositoryRoot.appendingPathComponent("Demo/model").path
        let pairs = """
            {"mention_id": "m1", "text_a": "吃完药后一直脑袋疼", "candidate_pt_code": "94000001", "candidate_pt_name": "头痛", "candidate_llt_names": ["头疼", "脑袋疼", "头胀痛", "头部疼痛"], "candidate_hlt_name": "头痛NEC", "candidate_hlgt_name": "头痛", "candidate_soc_name": "神经系统疾病", "label": 1}
            {"mention_id": "m1", "text_a": "吃完药后一直脑袋疼", "candidate_pt_code": "94000005", "candidate_pt_name": "头晕", "candidate_llt_names": ["头昏", "发晕", "晕乎乎", "头重脚轻", "眩晕感"], "candidate_hlt_name": "神经系统体征和症状NEC", "candidate_hlgt_name": "神经系统疾病NEC", "candidate_soc_name": "神经系统疾病", "label": 0}
            """
        let input = try temporaryFile("demo.jsonl", pairs + "\n")
        let result = try AdrnormExecutable.run(["score", "--model", demo, "--input", input])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        let objects = try lines.map(jsonObject)
        for o in objects {
            for key in ["logit_0", "logit_1", "prob_0", "prob_1"] { #expect(o[key] is Double, "\(key)") }
            let p0 = o["prob_0"] as? Double ?? 0, p1 = o["prob_1"] as? Double ?? 0
            #expect(abs(p0 + p1 - 1) < 1e-6)
        }
        #expect((objects[0]["prob_1"] as? Double ?? 0) > 0.5)
        #expect((objects[1]["prob_1"] as? Double ?? 1) < 0.5)
        #expect(objects[0]["pred_label"] as? Int == 1 && objects[1]["pred_label"] as? Int == 0)
    }
}
