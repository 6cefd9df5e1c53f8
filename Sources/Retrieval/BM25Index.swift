#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A character-level BM25 index over candidate texts, exactly as
/// docs/PIPELINE.md §BM25 defines it: terms are Unicode scalars with Python whitespace
/// removed, `k1 = 1.5`, `b = 0.75`, `idf(t) = ln(1 + (N − df + 0.5)/(df + 0.5))`.
///
/// Postings (document, term frequency) are stored per term together with
/// the term's whole BM25 contribution to that document, computed once with the
/// same operations in the same order as the straightforward formula, so a
/// query only adds precomputed weights: for each query term, in query order and
/// with duplicates kept, into a dense score array. Each document's sum then
/// sees exactly the additions of the reference, in the same order, and the
/// scores are bit-identical to it. Immutable and `Sendable`; searching needs
/// a `BM25Searcher` (one per thread) that owns the scratch buffers.
public struct BM25Index: Sendable {
    public static let k1 = 1.5
    public static let b = 0.75

    public let documentCount: Int
    /// Mean document length in terms.
    public let averageLength: Double
    /// Length in terms of each document.
    public let documentLengths: [Int32]
    /// Term id of each code point below U+10000 (-1: absent); others in `astralTermIDs`.
    let bmpTermIDs: [Int32]
    let astralTermIDs: [UInt32: Int32]
    /// Per term id: its postings are `postingStart[id] ..< postingStart[id + 1]`.
    let postingStart: [Int32]
    let postingDocument: [Int32]
    let postingFrequency: [Int32]
    let postingWeight: [Double]
    /// idf per term id.
    let idf: [Double]

    public init(documents: [String]) {
        var bmp = [Int32](repeating: -1, count: 0x10000)
        var astral: [UInt32: Int32] = [:]
        var termCount: Int32 = 0
        var lengths = [Int32](repeating: 0, count: documents.count)
        // (term, doc, tf) triples, one per distinct term of a document.
        var docTerms: [[(term: Int32, tf: Int32)]] = []
        docTerms.reserveCapacity(documents.count)
        var local: [Int32: Int32] = [:]
        var order: [Int32] = []
        for (d, text) in documents.enumerated() {
            local.removeAll(keepingCapacity: true)
            order.removeAll(keepingCapacity: true)
            var length: Int32 = 0
            for scalar in text.unicodeScalars where !scalar.isPythonWhitespace {
                let v = scalar.value
                var id: Int32
                if v < 0x10000 {
                    id = bmp[Int(v)]
                    if id < 0 { id = termCount; termCount += 1; bmp[Int(v)] = id }
                } else if let known = astral[v] {
                    id = known
                } else {
                    id = termCount; termCount += 1; astral[v] = id
                }
                if let n = local[id] { local[id] = n + 1 } else { local[id] = 1; order.append(id) }
                length += 1
            }
            lengths[d] = length
            docTerms.append(order.map { ($0, local[$0]!) })
        }
        let n = documents.count
        let total = lengths.reduce(0) { $0 + Int($1) }
        let avgdl = n > 0 ? Double(total) / Double(n) : 0
        var df = [Int32](repeating: 0, count: Int(termCount))
        for terms in docTerms { for t in terms { df[Int(t.term)] += 1 } }
        var start = [Int32](repeating: 0, count: Int(termCount) + 1)
        for t in 0..<Int(termCount) { start[t + 1] = start[t] + df[t] }
        var fill = Array(start.dropLast())
        let postings = Int(start.last ?? 0)
        var docs = [Int32](repeating: 0, count: postings)
        var freqs = [Int32](repeating: 0, count: postings)
        var weights = [Double](repeating: 0, count: postings)
        let idf = df.map { Self.idf(documentCount: n, documentFrequency: Int($0)) }
        let k1 = Self.k1, b = Self.b
        for (d, terms) in docTerms.enumerated() {
            let dl = Double(lengths[d])
            for t in terms {
                let slot = Int(fill[Int(t.term)])
                fill[Int(t.term)] += 1
                docs[slot] = Int32(d)
                freqs[slot] = t.tf
                // The reference's expression, term for term, so the bits agree:
                // idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl)).
                let tf = Double(t.tf)
                let denominator = tf + k1 * (1 - b + b * dl / avgdl)
                weights[slot] = idf[Int(t.term)] * tf * (k1 + 1) / denominator
            }
        }
        documentCount = n
        averageLength = avgdl
        documentLengths = lengths
        bmpTermIDs = bmp
        astralTermIDs = astral
        postingStart = start
        postingDocument = docs
        postingFrequency = freqs
        postingWeight = weights
        self.idf = idf
    }

    /// `ln(1 + (N − df + 0.5) / (df + 0.5))`.
    public static func idf(documentCount n: Int, documentFrequency df: Int) -> Double {
        log(1 + (Double(n - df) + 0.5) / (Double(df) + 0.5))
    }

    /// Number of distinct terms.
    public var termCount: Int { postingStart.count - 1 }

    @inline(__always) func termID(_ scalar: Unicode.Scalar) -> Int32 {
        let v = scalar.value
        if v < 0x10000 { return bmpTermIDs[Int(v)] }
        return astralTermIDs[v] ?? -1
    }

    /// The number of documents containing `scalar`.
    public func documentFrequency(of scalar: Unicode.Scalar) -> Int {
        let id = termID(scalar)
        return id < 0 ? 0 : Int(postingStart[Int(id) + 1] - postingStart[Int(id)])
    }

    /// The postings of `scalar`: (document, term frequency) in document order.
    public func postings(of scalar: Unicode.Scalar) -> [(document: Int, frequency: Int)] {
        let id = termID(scalar)
        if id < 0 { return [] }
        return (Int(postingStart[Int(id)])..<Int(postingStart[Int(id) + 1])).map {
            (Int(postingDocument[$0]), Int(postingFrequency[$0]))
        }
    }

    /// Approximate heap bytes held by the index.
    public var memoryBytes: Int {
        bmpTermIDs.count * 4 + astralTermIDs.count * 16 + postingStart.count * 4
            + postingDocument.count * (4 + 4 + 8) + idf.count * 8 + documentLengths.count * 4
    }
}
