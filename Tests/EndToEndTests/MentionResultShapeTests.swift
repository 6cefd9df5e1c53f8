import Foundation
import Testing

/// Issue 15 item 3: one JSON shape for a normalized mention, whichever tool
/// writes it (docs/PIPELINE.md §Mention results).
@Suite("one mention-result shape: normalize --emit mentions and call normalize/normalize-stream", .serialized)
struct MentionResultShapeTests {
    static func json(_ line: Substring) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test("same schema, keys, terms and probabilities for the same mention")
    func oneShape() async throws {
        let (server, pipeline) = try DemoServer.start()
        let c = DemoServer.certificate
        let connection = ["--server", "127.0.0.1:\(server.port)", "--ca", c("ca.pem"), "--cert", c("client-a.pem"),
                          "--key", c("client-a.key"), "--top-k", "20", "--return-top-scored", "2"]
        let mention = "吃完药后一直犯困头晕"
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("adrnorm-shape-\(UUID().uuidString).jsonl")
        try "{\"mention_id\": \"m1\", \"text_a\": \"\(mention)\", \"gold_pt_codes\": [\"94000001\"], \"gold_soc_codes\": []}\n"
            .write(to: input, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: input) }

        let local = try AdrnormExecutable.run(["normalize", "--input", input.path, "--emit", "mentions", "--top-k", "20"])
        #expect(local.status == 0, "\(local.stderr)")
        let remote = try AdrnormExecutable.run(["call", "normalize", mention] + connection)
        #expect(remote.status == 0, "\(remote.stderr)")
        let stream = try AdrnormExecutable.run(["call", "normalize-stream", mention, "   "] + connection)
        await DemoServer.stop(server, pipeline)

        let a = try Self.json(try #require(local.stdout.split(separator: "\n").first))
        let b = try Self.json(try #require(remote.stdout.split(separator: "\n").first))
        let lines = stream.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        let s = try Self.json(lines[0]), failed = try Self.json(lines[1])

        for r in [a, b, s] {
            #expect(r["schema"] as? String == "adrnorm.mention_result/1")
            #expect(r["mention"] as? String == mention)
            #expect(r["scorer"] as? String == "model" && r["precision"] as? String == "fp32")
            #expect(r["threshold"] as? Double == 0.3)
            #expect(r["timings"] is [String: Any] && r["cached"] is Bool)
        }
        // The same keys, apart from the labelled input's gold and the call's top_scored.
        let keys = Set(a.keys).subtracting(["gold_pt_codes", "gold_soc_codes"])
        #expect(keys == Set(b.keys).subtracting(["top_scored"]))
        #expect(Set(b.keys) == Set(s.keys))
        #expect(a["gold_pt_codes"] as? [String] == ["94000001"])
        #expect(a["pt_codes"] as? [String] == b["pt_codes"] as? [String])
        #expect(a["pt_codes"] as? [String] == s["pt_codes"] as? [String])
        let matchesA = try #require(a["matches"] as? [[String: Any]]), matchesB = try #require(b["matches"] as? [[String: Any]])
        #expect(!matchesA.isEmpty && matchesA.count == matchesB.count)
        for (x, y) in zip(matchesA, matchesB) {
            let tx = try #require(x["term"] as? [String: Any]), ty = try #require(y["term"] as? [String: Any])
            #expect(Set(tx.keys) == ["pt_code", "pt_name", "llt_names", "hlt_name", "hlgt_name", "soc_name", "soc_code"])
            #expect(tx["pt_code"] as? String == ty["pt_code"] as? String && tx["hlt_name"] as? String == ty["hlt_name"] as? String)
            #expect(tx["llt_names"] as? [String] == ty["llt_names"] as? [String])
            #expect(abs((x["probability"] as? Double ?? -1) - (y["probability"] as? Double ?? 1)) <= 1e-6)
            #expect(x["retrieval_rank"] as? Int == y["retrieval_rank"] as? Int)
            #expect(x["llt"] as? [String: String] != nil && x["llt"] as? [String: String] == y["llt"] as? [String: String])
            #expect(x["source"] as? String == "model" && y["source"] as? String == "model")
        }
        for r in [a, b, s] {
            #expect(r["needs_review"] is Bool && r["review_reason"] is String)
            let p = try #require(r["provenance"] as? [String: Any])
            #expect(p["top_k"] as? Int == 20 && p["template"] as? String == "full" && p["dictionary_digest"] is String)
        }
        let top = try #require(b["top_scored"] as? [[String: Any]])
        #expect(top.count == 2 && top.allSatisfy { $0["bm25_score"] is Double && $0["term"] is [String: Any] })

        // A failed stream item: schema, id, mention and error only.
        #expect(Set(failed.keys) == ["schema", "id", "mention", "error"])
        #expect((failed["error"] as? [String: Any])?["code"] as? String == "INVALID_ARGUMENT")
    }
}
