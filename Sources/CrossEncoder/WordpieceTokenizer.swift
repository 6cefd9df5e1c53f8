/// WordPiece: each word becomes the greedy longest-match sequence of
/// vocabulary pieces (continuations prefixed `##`); a word with no full
/// match, or longer than `maxInputCharsPerWord` code points, becomes the
/// unknown token.
public struct WordpieceTokenizer: Sendable {
    public let vocabulary: Vocabulary
    public let unknownTokenID: Int32
    public let maxInputCharsPerWord: Int

    public init(vocabulary: Vocabulary, unknownTokenID: Int32, maxInputCharsPerWord: Int = 100) {
        self.vocabulary = vocabulary
        self.unknownTokenID = unknownTokenID
        self.maxInputCharsPerWord = maxInputCharsPerWord
    }

    /// Appends the ids of `word`'s pieces to `ids`.
    public func appendIDs(of word: String, to ids: inout [Int32]) {
        let scalars = Array(word.unicodeScalars)
        if scalars.count > maxInputCharsPerWord {
            ids.append(unknownTokenID)
            return
        }
        if let whole = vocabulary.id(word) {
            ids.append(whole)
            return
        }
        let mark = ids.count
        var start = 0
        while start < scalars.count {
            var end = scalars.count
            var found: Int32? = nil
            while start < end {
                var piece = String.UnicodeScalarView()
                if start > 0 { piece.append(contentsOf: "##".unicodeScalars) }
                piece.append(contentsOf: scalars[start..<end])
                if let id = vocabulary.id(String(piece)) {
                    found = id
                    break
                }
                end -= 1
            }
            guard let found else {
                ids.removeSubrange(mark...)
                ids.append(unknownTokenID)
                return
            }
            ids.append(found)
            start = end
        }
    }
}
