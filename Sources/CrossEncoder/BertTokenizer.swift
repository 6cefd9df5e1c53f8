import Foundation

/// The WordPiece tokenizer of a BERT model folder, producing the same ids and
/// token types as Hugging Face's `BertTokenizerFast` (docs/PIPELINE.md §Tokenization).
/// Immutable; share one instance across threads.
public struct BertTokenizer: Sendable {
    public let configuration: TokenizerConfiguration
    public let vocabulary: Vocabulary
    public let basic: BasicTokenizer
    public let wordpiece: WordpieceTokenizer
    public let classifierTokenID: Int32
    public let separatorTokenID: Int32
    /// Special tokens present in the vocabulary, as scalars, longest first.
    private let specials: [(scalars: [Unicode.Scalar], id: Int32)]

    public init(vocabulary: Vocabulary, configuration: TokenizerConfiguration = .init(),
                vocabularyPath: String = "vocab.txt") throws(CrossEncoderError) {
        self.vocabulary = vocabulary
        self.configuration = configuration
        func required(_ token: String, _ field: String) throws(CrossEncoderError) -> Int32 {
            guard let id = vocabulary.id(token) else {
                throw .invalidVocabulary(path: vocabularyPath, problem: "\(field) \(token) is not in the vocabulary")
            }
            return id
        }
        let unk = try required(configuration.unknownToken, "unk_token")
        classifierTokenID = try required(configuration.classifierToken, "cls_token")
        separatorTokenID = try required(configuration.separatorToken, "sep_token")
        basic = BasicTokenizer(lowercase: configuration.doLowerCase, stripAccents: configuration.effectiveStripAccents,
                               tokenizeChineseChars: configuration.tokenizeChineseChars)
        wordpiece = WordpieceTokenizer(vocabulary: vocabulary, unknownTokenID: unk)
        var specials: [(scalars: [Unicode.Scalar], id: Int32)] = []
        for token in Set(configuration.specialTokens) where !token.isEmpty {
            if let id = vocabulary.id(token) { specials.append((Array(token.unicodeScalars), id)) }
        }
        specials.sort { $0.scalars.count > $1.scalars.count || ($0.scalars.count == $1.scalars.count && $0.id < $1.id) }
        self.specials = specials
    }

    /// Loads `vocab.txt` and, when present, `tokenizer_config.json` from a
    /// model folder.
    public init(modelDirectory: String) throws(CrossEncoderError) {
        try ModelFolder.check(modelDirectory)
        let dir = URL(fileURLWithPath: modelDirectory)
        let vocabPath = dir.appendingPathComponent("vocab.txt").path
        let configPath = dir.appendingPathComponent("tokenizer_config.json").path
        let configuration = FileManager.default.fileExists(atPath: configPath)
            ? try TokenizerConfiguration(contentsOf: configPath) : TokenizerConfiguration()
        try self.init(vocabulary: try Vocabulary(contentsOf: vocabPath), configuration: configuration,
                      vocabularyPath: vocabPath)
    }

    /// The ids of `text` without special tokens around it. Special tokens
    /// written in the text (`[SEP]`, case-sensitive) are kept whole.
    public func tokenIDs(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        let scalars = Array(text.unicodeScalars)
        var segmentStart = 0
        var i = 0
        func emit(_ end: Int) {
            guard end > segmentStart else { return }
            var segment = String.UnicodeScalarView()
            segment.append(contentsOf: scalars[segmentStart..<end])
            for word in basic.words(String(segment)) { wordpiece.appendIDs(of: word, to: &ids) }
        }
        // Leftmost-longest match of the special tokens, as the fast tokenizer's
        // added-vocabulary split does.
        scan: while i < scalars.count {
            for special in specials where special.scalars.first == scalars[i] {
                let n = special.scalars.count
                if i + n <= scalars.count && scalars[i..<(i + n)].elementsEqual(special.scalars) {
                    emit(i)
                    ids.append(special.id)
                    i += n
                    segmentStart = i
                    continue scan
                }
            }
            i += 1
        }
        emit(scalars.count)
        return ids
    }

    /// The tokens of ids, for display.
    public func tokens(_ ids: [Int32]) -> [String] {
        ids.map { Int($0) < vocabulary.count ? vocabulary.tokens[Int($0)] : configuration.unknownToken }
    }

    /// `[CLS] a [SEP]`, or `[CLS] a [SEP] b [SEP]` when `b` is non-empty,
    /// truncated to `maxLength` tokens `longest_first` with the fast
    /// tokenizer's split (docs/PIPELINE.md §Tokenization). An empty `b` counts as no second
    /// text, as in `transformers` (`if text_pair`).
    public func encode(_ a: String, _ b: String? = nil, maxLength: Int = 64) throws(CrossEncoderError) -> PairEncoding {
        let pair = !(b ?? "").isEmpty
        return try encode(ids: tokenIDs(a), pair ? tokenIDs(b!) : nil, maxLength: maxLength)
    }

    /// The same from texts already turned into ids by `tokenIDs` (texts are
    /// tokenized independently, so a caller may keep the ids of texts it
    /// encodes often). `b` nil: no second text; an empty `b` array is a
    /// second text with no tokens (a whitespace-only text).
    public func encode(ids a: [Int32], _ b: [Int32]?, maxLength: Int = 64) throws(CrossEncoderError) -> PairEncoding {
        let pair = b != nil
        let added = pair ? 3 : 2
        guard maxLength >= added else {
            throw .invalidArgument(name: "max_length", problem: "\(maxLength) leaves no room for the \(added) special tokens")
        }
        let idsB = b ?? []
        let (keepA, keepB) = Self.truncatedLengths(a.count, idsB.count, budget: maxLength - added)
        var ids: [Int32] = [classifierTokenID]
        ids.reserveCapacity(keepA + keepB + added)
        ids += a[..<keepA]
        ids.append(separatorTokenID)
        var types = [Int32](repeating: 0, count: ids.count)
        if pair {
            ids += idsB[..<keepB]
            ids.append(separatorTokenID)
            types += [Int32](repeating: 1, count: keepB + 1)
        }
        return PairEncoding(inputIDs: ids, tokenTypeIDs: types)
    }

    /// How many tokens of each text `longest_first` keeps, for a budget `m`
    /// (max_length minus the special tokens). BertTokenizerFast's rule: if the
    /// shorter text (the first on a tie) has `n ≤ m/2` tokens the longer keeps
    /// `m − n`; otherwise the shorter keeps `⌊m/2⌋` and the longer
    /// `⌊m/2⌋ + m mod 2`.
    public static func truncatedLengths(_ na: Int, _ nb: Int, budget m: Int) -> (Int, Int) {
        if na + nb <= m { return (na, nb) }
        let aIsShorter = na <= nb
        let n = aIsShorter ? na : nb
        let short: Int, long: Int
        if 2 * n <= m {
            (short, long) = (n, m - n)
        } else {
            (short, long) = (m / 2, m / 2 + m % 2)
        }
        return aIsShorter ? (short, long) : (long, short)
    }
}
