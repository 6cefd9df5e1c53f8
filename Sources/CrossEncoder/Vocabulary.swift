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

    /// Reads `vocab.txt`. Lines end at `\n`, `\r\n` or `\r`, as Python's
    /// universal-newline text mode reads them in `transformers`' `load_vocab`
    /// (so a CRLF file gives the same tokens as an LF one); a UTF-8 byte
    /// order mark at the start is dropped rather than glued to the first
    /// token. (Splitting a Swift `String` on `"\n"` misses CRLF: `"\r\n"` is
    /// one `Character`.)
    public init(contentsOf path: String) throws(CrossEncoderError) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadableFile(path: path, reason: error.localizedDescription)
        }
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var lines: [String] = []
        var start = 0, i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\n") || bytes[i] == UInt8(ascii: "\r") {
                lines.append(String(decoding: bytes[start..<i], as: UTF8.self))
                if bytes[i] == UInt8(ascii: "\r") && i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\n") { i += 1 }
                start = i + 1
            }
            i += 1
        }
        if start < bytes.count { lines.append(String(decoding: bytes[start...], as: UTF8.self)) }
        if lines.isEmpty { throw .invalidVocabulary(path: path, problem: "no tokens") }
        self.init(tokens: lines)
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
