import Digest
import Foundation
import Retrieval
import Testing

/// The repository root, found from this file's path (tests build in place).
enum Repository {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }
}

/// One golden file made by Scripts/reference/bm25_reference.py: a header
/// (dictionary, template, N, avgdl, digests) and, per mention, the reference's
/// top-100 as (candidate index, score).
struct GoldenFile {
    struct Case {
        var id: String
        var mention: String
        var top: [(index: Int, score: Double)]
    }

    var dictionary: String
    var template: CandidateTemplate
    var n: Int
    var avgdl: Double
    var digest: String
    var textsSHA256: String
    var cases: [Case] = []

    init(name: String) throws {
        let text = try String(contentsOfFile: Repository.path("Tests/RetrievalTests/Golden/\(name)"), encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        let header = try JSONSerialization.jsonObject(with: Data(lines.removeFirst().utf8)) as! [String: Any]
        dictionary = header["dictionary"] as! String
        template = CandidateTemplate(rawValue: header["template"] as! String)!
        n = header["n"] as! Int
        avgdl = (header["avgdl"] as! NSNumber).doubleValue
        digest = header["digest"] as! String
        textsSHA256 = header["texts_sha256"] as! String
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            // Scores are parsed from their text with Double(_:) (correctly
            // rounded), not through JSONSerialization, so they are the
            // reference's exact doubles.
            let start = line.range(of: "\"top\":[[")!.upperBound
            let end = line.range(of: "]]}", options: .backwards)!.lowerBound
            let top = line[start..<end].components(separatedBy: "],[").map { pair -> (Int, Double) in
                let parts = pair.split(separator: ",")
                return (Int(parts[0])!, Double(String(parts[1]))!)
            }
            cases.append(Case(id: object["id"] as! String, mention: object["mention"] as! String, top: top))
        }
    }
}

@Suite struct GoldenBM25Tests {
    static let files = ["demo_full.jsonl", "demo_pt_only.jsonl", "demo_pt_llt.jsonl", "generated2000_full.jsonl"]

    @Test("rankings and scores equal the straightforward Python reference for every mention and rank", arguments: files)
    func golden(name: String) throws {
        let golden = try GoldenFile(name: name)
        #expect(golden.cases.count >= 100)
        let dictionary = try CandidateDictionary.load(path: Repository.path(golden.dictionary))
        #expect(dictionary.digest == golden.digest, "the Swift loader's candidates differ from the reference's")
        let retriever = CandidateRetriever(dictionary: dictionary, template: golden.template)
        #expect(retriever.bm25.documentCount == golden.n)
        #expect(retriever.bm25.averageLength == golden.avgdl)
        #expect(SHA256.hex(of: retriever.texts.joined(separator: "\n").utf8) == golden.textsSHA256,
                "candidate texts differ from the reference's")
        let session = retriever.session()
        var mismatches = 0
        var exact = 0, total = 0
        for c in golden.cases {
            let hits = try session.retrieve(c.mention, topK: 100)
            guard hits.count == c.top.count else {
                Issue.record("\(c.id): \(hits.count) hits, reference \(c.top.count)")
                mismatches += 1
                continue
            }
            for (rank, (hit, ref)) in zip(hits, c.top).enumerated() {
                total += 1
                if hit.score == ref.score { exact += 1 }
                let relative = abs(hit.score - ref.score) / max(abs(ref.score), .leastNormalMagnitude)
                if hit.candidateIndex != ref.index || (ref.score != 0 && relative > 1e-9) || (ref.score == 0 && hit.score != 0) {
                    if mismatches < 5 {
                        let where_ = "\(c.id) \(c.mention.debugDescription) rank \(rank + 1)"
                        Issue.record("\(where_): candidate \(hit.candidateIndex) score \(hit.score), reference \(ref.index) score \(ref.score)")
                    }
                    mismatches += 1
                }
            }
        }
        #expect(mismatches == 0)
        // Same additions in the same order: the doubles are identical, not just close.
        #expect(exact == total)
    }

    @Test("the golden mentions cover ties, no-document characters, repeats, full-width punctuation, Latin and digits")
    func coverage() throws {
        let golden = try GoldenFile(name: "demo_full.jsonl")
        let mentions = golden.cases.map(\.mention)
        #expect(golden.cases.contains { $0.top.allSatisfy { $0.score == 0 } && $0.top.map(\.index) == Array(0..<100) })
        #expect(golden.cases.contains { c in zip(c.top, c.top.dropFirst()).contains { $0.score == $1.score && $0.score > 0 } })
        #expect(mentions.contains { m in zip(m.unicodeScalars, m.unicodeScalars.dropFirst()).contains { $0 == $1 } })
        #expect(mentions.contains { $0.unicodeScalars.contains { (0xFF01...0xFF5E).contains($0.value) || $0 == "。" } })
        #expect(mentions.contains { $0.unicodeScalars.contains { ("A"..."Z").contains($0) || ("a"..."z").contains($0) } })
        #expect(mentions.contains { $0.unicodeScalars.contains { ("0"..."9").contains($0) } })
        #expect(mentions.contains { $0.unicodeScalars.contains { $0.value > 0xFFFF } })
    }
}
