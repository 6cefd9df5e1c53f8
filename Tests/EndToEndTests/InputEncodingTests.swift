import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// Issue 15, item 6: `--input-encoding` on every command that reads an input
/// file, and a line that does not decode is a bad line like any other (named
/// by file and line; skipped under `normalize --on-error skip`), not the end
/// of the whole file.
private enum EncodedFiles {
    /// `bytes` in a file of a fresh folder under the system temporary directory (left to the OS).
    static func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("adrnorm-encoding-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// UTF-8 text converted to `encoding` ("GBK", "GB18030") with iconv.
    static func encode(_ text: String, _ encoding: String) -> [UInt8] {
        let cd = iconv_open(encoding, "UTF-8")
        precondition(cd != iconv_t(bitPattern: -1), "iconv cannot convert to \(encoding)")
        defer { iconv_close(cd) }
        var input = Array(text.utf8)
        var output = [UInt8](repeating: 0, count: input.count * 2 + 16)
        var written = 0
        input.withUnsafeMutableBufferPointer { i in
            output.withUnsafeMutableBufferPointer { o in
                i.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(i.count, 1)) { ip in
                    o.baseAddress!.withMemoryRebound(to: CChar.self, capacity: o.count) { op in
                        var inPtr: UnsafeMutablePointer<CChar>? = ip, outPtr: UnsafeMutablePointer<CChar>? = op
                        var inLeft = i.count, outLeft = o.count
                        precondition(iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft) != -1)
                        written = o.count - outLeft
                    }
                }
            }
        }
        return Array(output[..<written])
    }

    static func utf8(_ text: String) -> [UInt8] { Array(text.utf8) }

    static func rows(_ stdout: String) throws -> [[String: Any]] {
        try stdout.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    /// UTF-8 lines 1 and 3 around a GBK line 2 (a row pasted from a Windows spreadsheet).
    static func mixed() throws -> String {
        try file("mixed.txt", utf8("头痛\n") + encode("恶心想吐\n", "GBK") + utf8("头晕\n"))
    }
}

@Suite("--input-encoding and lines that do not decode")
struct InputEncodingTests {
    static let lexical = ["--scorer", "lexical", "--top-k", "3", "--emit", "mentions"]

    @Test("normalize: a GBK line under utf-8 stops the run naming the file, the line and --input-encoding gb18030")
    func stopNamesLineAndFlag() throws {
        let input = try EncodedFiles.mixed()
        let r = try AdrnormExecutable.run(["normalize", "--input", input] + Self.lexical)
        #expect(r.status != 0)
        #expect(r.stderr.contains("\(input):2: not valid UTF-8") && r.stderr.contains("--input-encoding gb18030"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    @Test("normalize --on-error skip: only the line that does not decode is skipped, and reported")
    func skipOnlyTheLine() throws {
        let input = try EncodedFiles.mixed()
        let r = try AdrnormExecutable.run(["normalize", "--input", input, "--on-error", "skip"] + Self.lexical)
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try EncodedFiles.rows(r.stdout)
        #expect(rows.map { $0["id"] as? String } == ["1", "3"])
        #expect(rows.map { $0["mention"] as? String } == ["头痛", "头晕"])
        #expect(r.stderr.contains("1 line(s) skipped") && r.stderr.contains("\(input):2: not valid UTF-8"), "\(r.stderr)")
        // Every line undecodable: nothing written is a failure, as for any skipped line.
        let all = try EncodedFiles.file("gbk.txt", EncodedFiles.encode("头晕\n恶心\n", "GBK"))
        let none = try AdrnormExecutable.run(["normalize", "--input", all, "--on-error", "skip"] + Self.lexical)
        #expect(none.status != 0 && none.stderr.contains("nothing was written"), "\(none.stderr)")
    }

    @Test("normalize --input-encoding gb18030 (and gbk) reads GB18030 JSONL with CRLF and a four-byte character",
          arguments: ["gb18030", "gbk", "GB18030"])
    func gb18030(name: String) throws {
        let text = "{\"mention_id\": \"a\", \"text_a\": \"吃完药后一直犯困头晕\"}\r\n{\"mention_id\": \"b\", \"text_a\": \"恶心想吐𠀀\"}\r\n"
        let input = try EncodedFiles.file("m.jsonl", EncodedFiles.encode(text, "GB18030"))
        let r = try AdrnormExecutable.run(["normalize", "--input", input, "--input-encoding", name] + Self.lexical)
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try EncodedFiles.rows(r.stdout)
        #expect(rows.map { $0["mention"] as? String } == ["吃完药后一直犯困头晕", "恶心想吐𠀀"])
        // The same file as UTF-8 gives the same results.
        let utf8 = try EncodedFiles.file("m.jsonl", EncodedFiles.utf8(text))
        let same = try AdrnormExecutable.run(["normalize", "--input", utf8] + Self.lexical)
        #expect(same.status == 0, "\(same.stderr)")
        #expect(try EncodedFiles.rows(same.stdout).map { $0["pt_codes"] as? [String] } == rows.map { $0["pt_codes"] as? [String] })
    }

    @Test("bytes that are not GB18030 name the line (without the UTF-8 hint); a bad name fails before the input is read")
    func badGB18030AndBadName() throws {
        let input = try EncodedFiles.file("bad.txt", EncodedFiles.encode("头痛\n", "GB18030") + [0x81, 0x20, 0x0A])
        let r = try AdrnormExecutable.run(["normalize", "--input", input, "--input-encoding", "gb18030"] + Self.lexical)
        #expect(r.status != 0)
        #expect(r.stderr.contains("\(input):2: not valid GB18030") && !r.stderr.contains("pass --input-encoding"), "\(r.stderr)")
        for command in [["normalize", "--input"], ["retrieve", "--input"], ["score", "--input"], ["evaluate", "--predictions"]] {
            let bad = try AdrnormExecutable.run(command + ["/nonexistent/in.jsonl", "--input-encoding", "latin1"])
            #expect(bad.status != 0 && bad.stderr.contains("--input-encoding must be utf-8 or gb18030"), "\(command): \(bad.stderr)")
            #expect(!bad.stderr.contains("/nonexistent/in.jsonl"), "\(command): \(bad.stderr)")
        }
    }

    @Test("retrieve: --input-encoding gb18030 reads the file; without it the line and the flag are named")
    func retrieve() throws {
        let input = try EncodedFiles.file("m.txt", EncodedFiles.encode("头晕\n恶心想吐\n", "GB18030"))
        let r = try AdrnormExecutable.run(["retrieve", "--input", input, "--input-encoding", "gb18030", "--top-k", "2"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try EncodedFiles.rows(r.stdout).map { $0["text"] as? String } == ["头晕", "恶心想吐"])
        let refused = try AdrnormExecutable.run(["retrieve", "--input", input])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("\(input):1: not valid UTF-8") && refused.stderr.contains("--input-encoding gb18030"),
                "\(refused.stderr)")
    }

    /// Every line has a character whose GB18030 bytes are not UTF-8 (not
    /// every one: 头痛's, CD B7 CD B4, happen to read as two Greek letters).
    static let pairs = """
        {"mention_id": "a", "text_a": "头晕", "candidate_pt_code": "1", "candidate_pt_name": "头晕", "label": 1, "prob_1": 0.9}
        {"mention_id": "a", "text_a": "头晕", "candidate_pt_code": "2", "candidate_pt_name": "恶心", "label": 0, "prob_1": 0.2}
        {"mention_id": "b", "text_a": "想吐", "candidate_pt_code": "2", "candidate_pt_name": "恶心", "label": 1, "prob_1": 0.4}

        """

    @Test("score: a GB18030 pair file scores as its UTF-8 twin; under utf-8 every undecodable line is named")
    func score() throws {
        let gb = try EncodedFiles.file("pairs.jsonl", EncodedFiles.encode(Self.pairs, "GB18030"))
        let utf8 = try EncodedFiles.file("pairs.jsonl", EncodedFiles.utf8(Self.pairs))
        let r = try AdrnormExecutable.run(["score", "--input", gb, "--input-encoding", "gb18030"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try EncodedFiles.rows(r.stdout).count == 3)
        let twin = try AdrnormExecutable.run(["score", "--input", utf8])
        #expect(twin.status == 0 && twin.stdout == r.stdout, "\(twin.stderr)")
        let refused = try AdrnormExecutable.run(["score", "--input", gb])
        #expect(refused.status != 0 && refused.stdout.isEmpty)
        for line in 1...3 {
            #expect(refused.stderr.contains("\(gb):line \(line): not valid UTF-8"), "line \(line): \(refused.stderr)")
        }
        #expect(refused.stderr.contains("--input-encoding gb18030"), "\(refused.stderr)")
    }

    @Test("evaluate: GB18030 predictions give the metrics of their UTF-8 twin")
    func evaluate() throws {
        let gb = try EncodedFiles.file("predictions.jsonl", EncodedFiles.encode(Self.pairs, "GB18030"))
        let utf8 = try EncodedFiles.file("predictions.jsonl", EncodedFiles.utf8(Self.pairs))
        let r = try AdrnormExecutable.run(["evaluate", "--predictions", gb, "--input-encoding", "gb18030", "--compact"])
        #expect(r.status == 0, "\(r.stderr)")
        let twin = try AdrnormExecutable.run(["evaluate", "--predictions", utf8, "--compact"])
        #expect(twin.status == 0 && r.stdout == twin.stdout && !r.stdout.isEmpty)
        let refused = try AdrnormExecutable.run(["evaluate", "--predictions", gb])
        #expect(refused.status != 0 && refused.stderr.contains("\(gb):line 1: not valid UTF-8"), "\(refused.stderr)")
    }
}
