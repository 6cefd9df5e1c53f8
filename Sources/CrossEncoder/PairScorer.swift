import Foundation

/// A cross-encoder model folder ready to score text pairs: the tokenizer,
/// the classifier and the encoding length. Immutable; share it.
public struct PairScorer: Sendable {
    public let tokenizer: BertTokenizer
    public let model: BertForSequenceClassification
    public let maxLength: Int
    /// What the caller should show loudly (stderr, the server log): the
    /// match label taken by convention, a vocabulary mismatch let through.
    public let warnings: [String]

    /// Loads `vocab.txt`, `tokenizer_config.json`, `config.json` and
    /// `model.safetensors` from `modelDirectory`.
    ///
    /// A `vocab.txt` with fewer tokens than `config.json`'s `vocab_size` is
    /// refused unless `allowVocabularyMismatch` (the command line's
    /// `--allow-vocab-mismatch`), then it is a warning: it is usually another
    /// model's vocabulary, which maps text to the wrong embeddings. One with
    /// more tokens is always refused (its ids would fall outside the
    /// embedding matrix).
    public init(modelDirectory: String, maxLength: Int = 64,
                options: EncoderOptions = EncoderOptions(),
                allowVocabularyMismatch: Bool = false) throws(CrossEncoderError) {
        try ModelFolder.check(modelDirectory)
        tokenizer = try BertTokenizer(modelDirectory: modelDirectory)
        model = try BertForSequenceClassification(modelDirectory: modelDirectory, options: options)
        guard maxLength >= 3, maxLength <= model.config.maxPositionEmbeddings else {
            throw .invalidArgument(name: "max_length", problem: "\(maxLength) is outside 3…\(model.config.maxPositionEmbeddings)")
        }
        let configPath = URL(fileURLWithPath: modelDirectory).appendingPathComponent("config.json").path
        let vocabPath = URL(fileURLWithPath: modelDirectory).appendingPathComponent("vocab.txt").path
        let tokens = tokenizer.vocabulary.count, vocabSize = model.config.vocabSize
        guard vocabSize >= tokens else {
            throw .invalidConfiguration(path: configPath, field: "vocab_size",
                                        problem: "\(vocabSize) is smaller than vocab.txt's \(tokens) tokens")
        }
        var warnings: [String] = []
        if tokens < vocabSize {
            let facts = "\(tokens) tokens, but \(configPath) has vocab_size \(vocabSize): "
                + "embedding rows \(tokens)…\(vocabSize - 1) have no token"
            guard allowVocabularyMismatch else {
                throw .invalidVocabulary(path: vocabPath, problem: facts + ". This is usually another model's vocab.txt, "
                    + "which maps text to the wrong embeddings: put the model's own vocab.txt in the folder. If the "
                    + "embedding matrix is padded on purpose (rounded up, added tokens), pass --allow-vocab-mismatch")
            }
            warnings.append("\(vocabPath): \(facts) (accepted: --allow-vocab-mismatch)")
        }
        if let labels = model.config.matchLabelWarning(path: configPath) { warnings.append(labels) }
        self.warnings = warnings
        self.maxLength = maxLength
    }

    /// Scores one packed batch of encoded pairs, in order.
    public func score(_ batch: PackedBatch) throws(CrossEncoderError) -> [PairScore] {
        let match = model.config.matchIndex
        return try model.forward(batch).map { PairScore(logits: $0.logits, probabilities: $0.probabilities, matchIndex: match) }
    }

    /// Scores `pairs` in batches of `batchSize`, in input order.
    public func score(_ pairs: [(mention: String, candidate: String)], batchSize: Int = 64) throws(CrossEncoderError) -> [PairScore] {
        guard batchSize >= 1 else { throw .invalidArgument(name: "batch_size", problem: "must be at least 1") }
        var out: [PairScore] = []
        out.reserveCapacity(pairs.count)
        var start = 0
        while start < pairs.count {
            let end = min(start + batchSize, pairs.count)
            var encodings: [PairEncoding] = []
            for p in pairs[start..<end] { encodings.append(try tokenizer.encode(p.mention, p.candidate, maxLength: maxLength)) }
            out += try score(PackedBatch(encodings))
            start = end
        }
        return out
    }
}
