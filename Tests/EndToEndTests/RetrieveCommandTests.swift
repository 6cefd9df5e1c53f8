import Foundation
import Testing

/// `adrnorm retrieve` end to end, on the demo dictionary (found from the
/// executable's location, as a user running .build/release/adrnorm gets it).
@Suite struct RetrieveCommandTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let csv = root.appendingPathComponent("Demo/dictionary/demo_dictionary.csv").path
    static let folder = root.appendingPathComponent("Demo/dictionary/meddra_ascii").path

    func objects(_ stdout: String) throws -> [[String: Any]] {
        try stdout.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    func temporaryFile(_ text: String, _ ext: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("adrnorm-retrieve-\(UUID().uuidString).\(ext)").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("--mention on the default (demo) dictionary: one object with ranked candidates")
    func mention() throws {
        let r = try AdrnormExecutable.run(["retrieve", "--mention", "头疼", "--top-k", "5"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try objects(r.stdout)
        #expect(lines.count == 1)
        #expect(lines[0]["mention_id"] as? String == "1")
        #expect(lines[0]["text"] as? String == "头疼")
        let candidates = try #require(lines[0]["candidates"] as? [[String: Any]])
        #expect(candidates.count == 5)
        #expect(candidates.map { $0["rank"] as? Int } == [1, 2, 3, 4, 5])
        #expect(candidates[0]["pt_name"] as? String == "头痛")
        #expect(candidates[0]["retrieval_prob"] as? Double == 1.0)
        let scores = candidates.compactMap { $0["score"] as? Double }
        #expect(scores == scores.sorted(by: >))
        #expect(r.stderr.contains("382 PTs"))
    }

    @Test("the CSV and the MedDRA folder give the same output; exact mode; top-k above the dictionary returns all")
    func layoutsAndModes() throws {
        let a = try AdrnormExecutable.run(["retrieve", "--dictionary", Self.csv, "--mention", "想吐", "--top-k", "1000"])
        let b = try AdrnormExecutable.run(["retrieve", "--dictionary", Self.folder, "--mention", "想吐", "--top-k", "1000"])
        #expect(a.status == 0 && b.status == 0)
        #expect(a.stdout == b.stdout)
        #expect(try (objects(a.stdout)[0]["candidates"] as! [Any]).count == 382)
        let e = try AdrnormExecutable.run(["retrieve", "--dictionary", Self.folder, "--mode", "exact", "--mention", " 想吐 ", "--top-k", "3"])
        let c = try objects(e.stdout)[0]["candidates"] as! [[String: Any]]
        #expect(c[0]["pt_name"] as? String == "恶心" && c[0]["score"] as? Double == 1)
        #expect(c[1]["score"] as? Double == 0 && c[1]["retrieval_prob"] as? Double == 0)
    }

    @Test("--input: plain text (ids = line numbers, blank lines skipped) and mention JSONL")
    func inputs() throws {
        let text = try temporaryFile("头痛\n\n  恶心\r\n", "txt")
        var r = try AdrnormExecutable.run(["retrieve", "--input", text, "--top-k", "2"])
        #expect(r.status == 0, "\(r.stderr)")
        var lines = try objects(r.stdout)
        #expect(lines.map { $0["mention_id"] as? String } == ["1", "3"])
        #expect(lines[1]["text"] as? String == "  恶心")
        let jsonl = try temporaryFile("{\"mention_id\": 7, \"text_a\": \"皮肤痒\"}\n{\"mention_id\": \"b\", \"raw_term\": \"拉肚子\"}\n", "jsonl")
        r = try AdrnormExecutable.run(["retrieve", "--input", jsonl, "--top-k", "1", "--template", "pt_llt"])
        lines = try objects(r.stdout)
        #expect(lines.map { $0["mention_id"] as? String } == ["7", "b"])
        #expect((lines[1]["candidates"] as! [[String: Any]])[0]["pt_name"] as? String == "腹泻")
    }

    @Test("--emit pairs from pair JSONL: one mention per distinct mention_id, gold kept, label computed")
    func pairs() throws {
        let input = try temporaryFile("""
            {"mention_id": "m1", "text_a": "拉肚子", "candidate_pt_code": "x", "candidate_pt_name": "x", "gold_pt_codes": ["94000032"], "gold_soc_codes": ["91000002"], "label": 0}
            {"mention_id": "m1", "text_a": "拉肚子", "candidate_pt_code": "y", "candidate_pt_name": "y", "gold_pt_codes": ["94000032"], "gold_soc_codes": ["91000002"], "label": 0}
            {"mention_id": "m2", "text_a": "头疼", "candidate_pt_code": "x", "candidate_pt_name": "x"}

            """, "jsonl")
        let r = try AdrnormExecutable.run(["retrieve", "--input", input, "--top-k", "3", "--emit", "pairs"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try objects(r.stdout)
        #expect(lines.count == 6)
        #expect(lines.map { $0["mention_id"] as? String } == ["m1", "m1", "m1", "m2", "m2", "m2"])
        let first = lines[0]
        #expect(first["candidate_pt_code"] as? String == "94000032")
        #expect(first["candidate_pt_name"] as? String == "腹泻")
        #expect((first["candidate_llt_names"] as? [String])?.first == "拉肚子")
        #expect(first["candidate_soc_name"] as? String == "胃肠系统疾病")
        #expect(first["gold_pt_codes"] as? [String] == ["94000032"])
        #expect(first["gold_soc_codes"] as? [String] == ["91000002"])
        #expect(lines[0..<3].map { $0["label"] as? Int } == [1, 0, 0])
        // No gold in the input: no label.
        #expect(lines[3]["label"] == nil)
    }

    @Test("errors: whitespace mention, bad JSONL line, missing dictionary file, both or neither input")
    func errors() throws {
        var r = try AdrnormExecutable.run(["retrieve", "--mention", " \u{3000} "])
        #expect(r.status != 0 && r.stderr.contains("empty or whitespace"))
        #expect(r.stdout.isEmpty)
        let bad = try temporaryFile("{\"mention_id\": 1, \"text_a\": \"头痛\"}\n{\"mention_id\": 2}\n", "jsonl")
        r = try AdrnormExecutable.run(["retrieve", "--input", bad])
        #expect(r.status != 0 && r.stderr.contains("\(bad):2: missing required field text_a"))
        r = try AdrnormExecutable.run(["retrieve", "--dictionary", "/nonexistent/d.csv", "--mention", "头痛"])
        #expect(r.status != 0 && r.stderr.contains("/nonexistent/d.csv"))
        r = try AdrnormExecutable.run(["retrieve"])
        #expect(r.status != 0 && r.stderr.contains("exactly one of --mention"))
        r = try AdrnormExecutable.run(["retrieve", "--mention", "头痛", "--top-k", "0"])
        #expect(r.status != 0 && r.stderr.contains("--top-k"))
        r = try AdrnormExecutable.run(["retrieve", "--dictionary", Self.csv, "--encoding", "gb18030", "--mention", "头痛"])
        #expect(r.status != 0 && r.stderr.contains("MedDRA ASCII folders"))
    }

    @Test("bench retrieval prints its figures; an unknown benchmark is a usage error")
    func bench() throws {
        let r = try AdrnormExecutable.run(["bench", "frobnicate"])
        #expect(r.status != 0 && r.stdout.isEmpty && !r.stderr.isEmpty)
        let queries = try temporaryFile("头痛\n恶心\n", "txt")
        let b = try AdrnormExecutable.run(["bench", "retrieval", "--queries", queries, "--repeat", "1"])
        #expect(b.status == 0, "\(b.stderr)")
        let figures = try JSONSerialization.jsonObject(with: Data(b.stdout.utf8)) as! [String: Any]
        #expect(figures["pts"] as? Int == 382)
        #expect((figures["p99_ms"] as? Double ?? -1) >= 0)
    }

    @Test("the demo dictionary is found from another working directory, and ADRNORM_DEMO_DIR overrides the search")
    func demoAssets() throws {
        func run(cwd: String, environment: [String: String]) throws -> (Int32, String) {
            let process = Process()
            process.executableURL = AdrnormExecutable.url
            process.arguments = ["retrieve", "--mention", "头疼", "--top-k", "1"]
            process.currentDirectoryURL = URL(fileURLWithPath: cwd)
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            let err = Pipe()
            process.standardOutput = FileHandle.nullDevice
            process.standardError = err
            try process.run()
            let data = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: data, as: UTF8.self))
        }
        let tmp = FileManager.default.temporaryDirectory.path
        var (status, stderr) = try run(cwd: tmp, environment: [:])
        #expect(status == 0, "\(stderr)")
        (status, stderr) = try run(cwd: tmp, environment: ["ADRNORM_DEMO_DIR": Self.root.appendingPathComponent("Demo").path])
        #expect(status == 0 && stderr.contains("382 PTs"))
        (status, stderr) = try run(cwd: tmp, environment: ["ADRNORM_DEMO_DIR": "/nonexistent-demo"])
        #expect(status != 0 && stderr.contains("ADRNORM_DEMO_DIR=/nonexistent-demo"))
    }
}
