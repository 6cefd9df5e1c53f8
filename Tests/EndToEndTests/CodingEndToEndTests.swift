import Foundation
import Normalization
import Terminology
import Testing
import Wire

/// Issue 12: coding a safety team can submit, over mutual TLS and on the command line.
@Suite(.serialized) struct CodingEndToEndTests {
    static func temporaryFile(_ name: String, _ text: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("adrnorm-coding-\(UUID().uuidString)-\(name)")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test("Normalize and NormalizeStream carry each match's LLT and source, needs_review and provenance equal to Info's")
    func overTLS() async throws {
        let file = try Self.temporaryFile("synonyms.csv", "verbatim,llt_code\n头疼得厉害,95000001\n")
        defer { try? FileManager.default.removeItem(at: file) }
        let list = try SynonymList.load(path: file.path, dictionary: DemoServer.dictionary)
        let (server, pipeline) = try DemoServer.start { $0.synonyms = list; $0.reviewMargin = 0.2 }
        let client = try await DemoServer.connect(server)
        defer { client.close() }

        let hit = try await client.normalize(.init(id: "h", mention: "头疼得厉害"))
        let match = try #require(hit.matches.first)
        #expect(hit.matches.count == 1 && match.term?.ptCode == "94000001" && match.source == .synonym)
        #expect(match.llt == AdrnormV1.CodedLLT(lltCode: "95000001", lltName: "头疼", how: .synonym))
        #expect(match.retrievalRank == 0 && match.probability == 1 && !hit.needsReview && hit.reviewReason == .unspecified)

        let scored = try await client.normalize(.init(id: "m", mention: "吃完药后一直犯困头晕", topK: 20))
        let direct = try pipeline.normalizeAndWait(.init(mention: "吃完药后一直犯困头晕", topK: 20))
        #expect(scored.matches.map(\.term?.ptCode) == direct.matches.map(\.term.ptCode))
        #expect(!scored.matches.isEmpty)
        for (wire, local) in zip(scored.matches, direct.matches) {
            #expect(wire.source == .model)
            #expect(wire.llt?.lltCode == local.llt?.code && wire.llt?.lltName == local.llt?.name)
            #expect(wire.llt?.how == .some(local.llt?.how == .exact ? .exact
                                           : local.llt?.how == .closest ? .closest : .ptLLT))
        }
        #expect(scored.needsReview == direct.needsReview)

        let missed = try await client.normalize(.init(id: "x", mention: "完全无关的文字xyz", topK: 5, threshold: 0.99))
        #expect(missed.matches.isEmpty && missed.needsReview && missed.reviewReason == .noMatch)

        let stream = try await client.normalizeStream([.init(id: "a", mention: "头疼得厉害"),
                                                       .init(id: "b", mention: "恶心想吐", topK: 20)])
        #expect(stream.map { $0.matches.first?.source } == [.synonym, .model])
        #expect(stream.allSatisfy { $0.provenance != nil })

        let info = try await client.info()
        let p = try #require(scored.provenance)
        #expect(p.dictionaryDigest == info.dictionary?.digest && p.lltDigest == info.dictionary?.lltDigest)
        #expect(p.meddraVersion == info.dictionary?.version)
        #expect(p.weightsSHA256 == info.model?.weightsSHA256 && p.precision == info.model?.precision)
        #expect(p.reviewMargin == info.defaults?.reviewMargin && p.reviewMargin == 0.2)
        #expect(p.synonymsDigest == info.coding?.synonymsDigest && p.synonymsDigest == list.digest)
        #expect(p.synonymsFolding == info.coding?.synonymsFolding)
        #expect(p.topK == 20 && p.threshold == 0.3 && p.scorer == .model && p.template == .full && p.mode == .bm25)
        #expect(info.dictionary?.lltCodes == true)
        #expect(info.coding?.synonymHits == 2 && info.coding?.synonymEntries == 1)
        #expect(info.coding?.needsReview == pipeline.codingStatistics.needsReview)
        #expect((info.coding?.needsReview ?? 0) >= 1)
        await DemoServer.stop(server, pipeline)
    }

    @Test("normalize: LLTs in mention and prediction JSONL, --emit review, --dictionary-version, the weights digest is sha256sum's")
    func commandLine() throws {
        let input = try Self.temporaryFile("m.txt", "头疼得厉害\n恶心想吐\n完全无关的文字xyz\n")
        let synonyms = try Self.temporaryFile("s.csv", "verbatim,llt_code\n头疼得厉害,95000001\n")
        defer { for f in [input, synonyms] { try? FileManager.default.removeItem(at: f) } }
        let common = ["normalize", "--input", input.path, "--top-k", "20", "--synonyms", synonyms.path,
                      "--dictionary-version", "Demo 1.0"]
        let mentions = try AdrnormExecutable.run(common + ["--emit", "mentions"])
        #expect(mentions.status == 0, "\(mentions.stderr)")
        let rows = try mentions.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(rows.count == 3)
        let first = try #require((rows[0]["matches"] as? [[String: Any]])?.first)
        #expect(first["source"] as? String == "synonym")
        #expect(first["llt"] as? [String: String] == ["llt_code": "95000001", "llt_name": "头疼", "how": "synonym"])
        let provenance = try #require(rows[1]["provenance"] as? [String: Any])
        #expect(provenance["meddra_version"] as? String == "Demo 1.0")
        let sha = Process()
        sha.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        sha.arguments = [DemoServer.root.appendingPathComponent("Demo/model/model.safetensors").path]
        let out = Pipe()
        sha.standardOutput = out
        try sha.run()
        sha.waitUntilExit()
        let expected = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).prefix(64)
        #expect(provenance["weights_sha256"] as? String == String(expected))
        #expect(rows[2]["needs_review"] as? Bool == true && rows[2]["review_reason"] as? String == "no_match")

        let review = try AdrnormExecutable.run(common + ["--emit", "review"])
        #expect(review.status == 0, "\(review.stderr)")
        let flagged = rows.filter { $0["needs_review"] as? Bool == true }.map { $0["id"] as? String }
        let reviewIDs = try review.stdout.split(separator: "\n").map {
            (try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["id"] as? String
        }
        #expect(reviewIDs == flagged && !flagged.isEmpty && flagged.count < rows.count)

        let pairs = try AdrnormExecutable.run(common)
        #expect(pairs.status == 0, "\(pairs.stderr)")
        for line in pairs.stdout.split(separator: "\n") {
            let row = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect((row["llt"] != nil) == (row["pred_label"] as? Int == 1))
        }

        let wrongVersion = try AdrnormExecutable.run(["normalize", "--input", input.path, "--no-model", "--dictionary",
                                                      DemoServer.root.appendingPathComponent("Demo/dictionary/meddra_ascii").path,
                                                      "--dictionary-version", "27.0"])
        #expect(wrongVersion.status != 0 && wrongVersion.stderr.contains("differs from the version Demo 1.0"))
        let badList = try Self.temporaryFile("bad.csv", "verbatim,llt_code\n头疼,95000001\n头疼,95000002\n")
        defer { try? FileManager.default.removeItem(at: badList) }
        let refused = try AdrnormExecutable.run(["normalize", "--input", input.path, "--no-model", "--synonyms", badList.path])
        #expect(refused.status != 0 && refused.stderr.contains("\(badList.path):3: verbatim \"头疼\" is mapped to LLT 95000002"))
    }

    @Test("a CSV without llt_code loads; stderr says its aliases have no code, and they are coded with an empty llt_code")
    func uncodedCSV() throws {
        let csv = try Self.temporaryFile("d.csv", """
            pt_code,pt_name,llt_name,hlt_name,hlgt_name,soc_name
            94000001,头痛,头疼,头痛NEC,头痛,神经系统疾病
            94000002,恶心,想吐,恶心和呕吐症状,胃肠道症状,胃肠系统疾病

            """)
        let input = try Self.temporaryFile("m.txt", "头疼\n恶心\n")
        defer { for f in [csv, input] { try? FileManager.default.removeItem(at: f) } }
        let r = try AdrnormExecutable.run(["normalize", "--input", input.path, "--no-model", "--dictionary", csv.path,
                                           "--mode", "exact", "--scorer", "lexical", "--emit", "mentions"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("the dictionary has no LLT codes (no llt_code column)"))
        let llts = try r.stdout.split(separator: "\n").map {
            let row = try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            return try #require((row["matches"] as? [[String: Any]])?.first?["llt"] as? [String: String])
        }
        #expect(llts == [["llt_code": "", "llt_name": "头疼", "how": "exact"],
                         ["llt_code": "94000002", "llt_name": "恶心", "how": "exact"]])
    }
}
