import Foundation
import Testing

/// The committed demo model (synthetic, built from the synthetic demo
/// dictionary by Scripts/encoder/build_demo_model.py) recognises that
/// dictionary's own names through the whole pipeline, `adrnorm normalize` with
/// its defaults (BM25 top 100, `full` template, threshold 0.3). The build
/// script checks every name and alias; this runs a fifth of them (every fifth
/// in code-point order) plus the cases that an earlier demo model got wrong,
/// to keep the suite's time down.
@Suite("the committed demo model matches the demo dictionary's PT names and aliases")
struct DemoModelTests {
    /// Every PT name and alias of the demo dictionary -> the codes of the PTs
    /// that list it (a few aliases, such as 脸肿, belong to two PTs).
    static func names() -> [String: Set<String>] {
        var names: [String: Set<String>] = [:]
        for term in DemoServer.dictionary.terms {
            for name in [term.ptName] + term.lltNames { names[name, default: []].insert(term.ptCode) }
        }
        return names
    }

    /// `adrnorm normalize --emit mentions` on one mention per line: mention -> pt_codes, best first.
    static func normalize(_ mentions: [String]) throws -> [String: [String]] {
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("adrnorm-demo-\(UUID().uuidString).txt")
        try (mentions.joined(separator: "\n") + "\n").write(to: input, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: input) }
        let result = try AdrnormExecutable.run(["normalize", "--input", input.path, "--emit", "mentions"])
        #expect(result.status == 0, "\(result.stderr)")
        var codes: [String: [String]] = [:]
        for line in result.stdout.split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            codes[try #require(object["mention"] as? String)] = try #require(object["pt_codes"] as? [String])
        }
        #expect(codes.count == Set(mentions).count)
        return codes
    }

    @Test("PT names and aliases on their own (a fifth of them) all get their own PT at 0.3; 头痛 and 头晕 are ranked first, not 口咽疼痛; 偏头痛 is not also 头痛; the README's example has 嗜睡 and 头晕")
    func namesAndAliases() throws {
        let names = Self.names()
        #expect(names.count == 1518 && names["脸肿"] == ["94000069", "94000094"])
        let sorted = names.keys.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
        let sample = Set(sorted.enumerated().filter { $0.offset % 5 == 0 }.map(\.element) + ["头晕", "呕吐", "头痛"])
        let example = "吃完药后一直犯困头晕"
        let codes = try Self.normalize(sample.sorted() + [example, "偏头痛"])

        // The build script checks every name (Demo/model/README.md); this
        // guards what the committed model does on the sample.
        var missed: [String] = []
        for name in sample.sorted() where !names[name]!.isSubset(of: codes[name] ?? []) { missed.append(name) }
        #expect(missed.isEmpty, "\(missed.count) of \(sample.count) not matched to their own PT: \(missed.joined(separator: "、"))")
        #expect(codes["头痛"]?.first == "94000001")
        #expect(codes["头晕"]?.first == "94000005")
        #expect(!(codes["头痛"] ?? []).contains("94000150"), "口咽疼痛")
        // 偏头痛 contains 头痛, and means only itself.
        #expect(codes["偏头痛"] == ["94000002"])
        // 嗜睡 (犯困 is its alias) and 头晕.
        #expect(Set(codes[example] ?? []).isSuperset(of: ["94000005", "94000006"]))
    }
}
