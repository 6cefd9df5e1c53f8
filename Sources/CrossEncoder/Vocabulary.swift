import Foundation

/// A WordPiece vocabulary read from `vocab.txt`: one token per line, the
/// line number (from 0) is the id. Immutable and shareable across threads.
public struct Vocabulary: Sendable {
    /// Tokens by id.
    public let tokens: [String]
    private let ids: [ExactText: Int32]

    /// Builds a vocabulary from tokens in id order. A token listed twice keeps
    /// its last id, as `transformers` does when it reads `vocab.txt`.
    public init(tokens: [String]) {
        self.tokens = tokens
        var ids: [ExactText: Int32] = [:]
        ids.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() { ids[ExactText(t)] = Int32(i) }
        self.ids = ids
    }

    /// Reads `vocab.txt`. Lines are split on `\n` only (a `\r` stays part of
    /// the token, like `transformers`' `rstrip("\n")`).
    public init(contentsOf path: String) throws(CrossEncoderError) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadableFile(path: path, reason: error.localizedDescription)
        }
        var lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        if lines.isEmpty { throw .invalidVocabulary(path: path, problem: "no tokens") }
        self.init(tokens: lines.map(String.init))
    }

    public var count: Int { tokens.count }

    /// The id of `token`, or nil when it is not in the vocabulary.
    public func id(_ token: String) -> Int32? { ids[ExactText(token)] }
}

/// A string compared and hashed by its code points. Swift's `String`
/// equality is canonical equivalence ("e\u{301}" == "é"), but the vocabulary
/// lookup of the reference tokenizer is byte-exact.
private struct ExactText: Hashable {
    let text: String
    init(_ text: String) { self.text = text }
    static func == (l: ExactText, r: ExactText) -> Bool { l.text.utf8.elementsEqual(r.text.utf8) }
    func hash(into hasher: inout Hasher) {
        var copy = text
        copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
