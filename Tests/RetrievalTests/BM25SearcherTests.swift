import Foundation
import Retrieval
import Testing

/// The formula written out directly, for comparison.
func straightforwardScores(documents: [String], query: String) -> [Double] {
    let docs = documents.map { $0.unicodeScalars.filter { !$0.isPythonWhitespace } }
    let n = docs.count
    let avgdl = Double(docs.reduce(0) { $0 + $1.count }) / Double(n)
    let q = query.unicodeScalars.filter { !$0.isPythonWhitespace }
    return docs.map { d in
        var s = 0.0
        for t in q {
            let tf = d.filter { $0 == t }.count
            if tf == 0 { continue }
            let df = docs.filter { $0.contains(t) }.count
            let idf = log(1 + (Double(n - df) + 0.5) / (Double(df) + 0.5))
            s += idf * Double(tf) * (1.5 + 1) / (Double(tf) + 1.5 * (1 - 0.75 + 0.75 * Double(d.count) / avgdl))
        }
        return s
    }
}

func straightforwardRanking(_ scores: [Double], topK: Int) -> [Int] {
    Array(scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }.prefix(topK))
}

@Suite struct BM25SearcherTests {
    static let docs = ["头痛", "头晕 头痛", "恶心", "呕吐 恶心 恶心", "皮疹", "头痛"]

    @Test("a hand-checked corpus: scores, idf, ties by candidate order, zeros in candidate order")
    func small() throws {
        let index = BM25Index(documents: Self.docs)
        #expect(index.documentCount == 6)
        #expect(index.averageLength == 18.0 / 6.0)
        #expect(index.documentFrequency(of: "头") == 3)
        #expect(index.postings(of: "恶").map(\.document) == [2, 3])
        #expect(index.postings(of: "恶").map(\.frequency) == [1, 2])
        #expect(index.postings(of: " ").isEmpty && index.postings(of: "☃").isEmpty)
        #expect(index.documentLengths == [2, 4, 2, 6, 2, 2])
        #expect(BM25Index.idf(documentCount: 6, documentFrequency: 3) == log(1 + 3.5 / 3.5))
        let hits = try BM25Searcher(index: index).search("头痛", topK: 6)
        let expected = straightforwardScores(documents: Self.docs, query: "头痛")
        // Documents 0 and 5 are identical: a tie, broken by candidate order.
        #expect(hits.map(\.candidateIndex) == [0, 5, 1, 2, 3, 4])
        #expect(hits[0].score == hits[1].score)
        for h in hits { #expect(h.score == expected[h.candidateIndex]) }
        #expect(hits[2].score > 0 && hits[3].score == 0 && hits[4].score == 0)
        #expect(hits[0].probability == 1 && hits[2].probability == hits[2].score / hits[0].score)
    }

    @Test("a repeated query character counts each time; whitespace in the query is ignored")
    func duplicatesAndWhitespace() throws {
        let searcher = BM25Searcher(index: BM25Index(documents: Self.docs))
        let once = try searcher.search("恶", topK: 1)[0].score
        let twice = try searcher.search("恶恶", topK: 1)[0].score
        #expect(twice == once + once)
        #expect(try searcher.search(" 头\u{3000}痛\t", topK: 6) == searcher.search("头痛", topK: 6))
    }

    @Test("no query character in any document: all scores 0, candidate order, probability 0")
    func allZero() throws {
        let hits = try BM25Searcher(index: BM25Index(documents: Self.docs)).search("☃𠀀", topK: 4)
        #expect(hits == (0..<4).map { RetrievalHit(candidateIndex: $0, score: 0, probability: 0) })
    }

    @Test("top_k above the dictionary returns every candidate; top_k < 1 and empty mentions are errors")
    func limits() throws {
        let searcher = BM25Searcher(index: BM25Index(documents: Self.docs))
        #expect(try searcher.search("痛", topK: 1000).count == 6)
        #expect(throws: RetrievalError.invalidTopK(0)) { try searcher.search("痛", topK: 0) }
        #expect(throws: RetrievalError.emptyMention) { try searcher.search("", topK: 5) }
        #expect(throws: RetrievalError.emptyMention) { try searcher.search(" \u{3000}\t\u{00A0}\n", topK: 5) }
        // The searcher is reusable after an error.
        #expect(try searcher.search("痛", topK: 2).map(\.candidateIndex) == [0, 5])
    }

    @Test("random corpora and queries: the same order and scores as the formula, for small and large k (heap and sort paths)")
    func randomized() throws {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("头痛晕恶心呕吐皮疹痒肿红热咳乏力AB1 ；").map(String.init)
        for _ in 0..<30 {
            let n = Int.random(in: 1...120, using: &rng)
            let docs = (0..<n).map { _ in (0..<Int.random(in: 1...12, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }.joined() }
            let searcher = BM25Searcher(index: BM25Index(documents: docs))
            for _ in 0..<10 {
                let query = (0..<Int.random(in: 1...6, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }.joined() + "头"
                let expected = straightforwardScores(documents: docs, query: query)
                for k in [1, 3, 10, n, n + 5] {
                    let hits = try searcher.search(query, topK: k)
                    #expect(hits.map(\.candidateIndex) == straightforwardRanking(expected, topK: k), "\(docs) \(query) k=\(k)")
                    for h in hits { #expect(h.score == expected[h.candidateIndex]) }
                }
            }
        }
    }
}

@Suite struct ExactAndRetrieverTests {
    static let dictionary = CandidateDictionary(terms: [
        PreferredTerm(ptCode: "1", ptName: "头痛", lltNames: ["头疼"], socName: "神经系统疾病"),
        PreferredTerm(ptCode: "2", ptName: "偏头痛", lltNames: ["头疼", "偏头疼"], socName: "神经系统疾病"),
        PreferredTerm(ptCode: "3", ptName: "恶心", lltNames: ["想吐"], socName: "胃肠系统疾病"),
        PreferredTerm(ptCode: "4", ptName: "caf\u{E9}"),
    ])

    @Test("exact mode: PT name or alias equal to the trimmed mention first (score 1), the rest after, in candidate order")
    func exact() throws {
        let r = CandidateRetriever(dictionary: Self.dictionary)
        var hits = try r.retrieve("  头疼\u{3000}", mode: .exact, topK: 10)
        #expect(hits.map(\.candidateIndex) == [0, 1, 2, 3])
        #expect(hits.map(\.score) == [1, 1, 0, 0])
        #expect(hits.map(\.probability) == [1, 1, 0, 0])
        hits = try r.retrieve("想吐", mode: .exact, topK: 2)
        #expect(hits.map(\.candidateIndex) == [2, 0])
        hits = try r.retrieve("头", mode: .exact, topK: 3)
        #expect(hits.map(\.score) == [0, 0, 0] && hits.map(\.candidateIndex) == [0, 1, 2])
        // Code points, not canonical equivalence: "cafe" + U+0301 is not "café".
        #expect(try r.retrieve("cafe\u{301}", mode: .exact, topK: 1)[0].score == 0)
        #expect(try r.retrieve("caf\u{E9}", mode: .exact, topK: 1)[0].candidateIndex == 3)
        #expect(throws: RetrievalError.emptyMention) { try r.retrieve(" ", mode: .exact, topK: 3) }
        #expect(throws: RetrievalError.invalidTopK(-1)) { try r.retrieve("头疼", mode: .exact, topK: -1) }
    }

    @Test("the retriever indexes the template's candidate texts")
    func templates() throws {
        for template in CandidateTemplate.allCases {
            let r = CandidateRetriever(dictionary: Self.dictionary, template: template)
            #expect(r.texts == Self.dictionary.terms.map(template.render))
            let expected = straightforwardScores(documents: r.texts, query: "偏头疼SOC")
            let hits = try r.retrieve("偏头疼SOC", topK: 4)
            #expect(hits.map(\.candidateIndex) == straightforwardRanking(expected, topK: 4))
        }
    }

    @Test("one shared retriever, a session per thread: concurrent results equal sequential ones")
    func concurrent() async throws {
        let dictionary = try CandidateDictionary.load(path: Repository.path("Demo/dictionary/demo_dictionary.csv"))
        let retriever = CandidateRetriever(dictionary: dictionary)
        let mentions = ["头疼", "想吐", "拉肚子", "皮肤痒", "ALT升高", "心慌", "睡不着", "☃"]
        let expected = try mentions.map { try retriever.retrieve($0, topK: 20) }
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    let session = retriever.session()
                    for round in 0..<50 {
                        let i = (worker + round) % mentions.count
                        if try session.retrieve(mentions[i], topK: 20) != expected[i] { return false }
                    }
                    return true
                }
            }
            for try await ok in group { #expect(ok) }
        }
    }
}
