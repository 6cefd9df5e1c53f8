import Foundation

/// Scores of one (mention, candidate) pair.
public struct PairScore: Sendable, Equatable {
    public var logits: [Float]
    public var probabilities: [Float]
    /// The probability of the `match` label (DESIGN §1 item 5).
    public var matchProbability: Float
}

/// A cross-encoder model folder ready to score text pairs: the tokenizer,
/// the classifier and the encoding length. Immutable; share it.
public struct PairScorer: Sendable {
    public let tokenizer: BertTokenizer
    public let model: BertForSequenceClassification
    public let maxLength: Int

    /// Loads `vocab.txt`, `tokenizer_config.json`, `config.json` and
    /// `model.safetensors` from `modelDirectory`.
    public init(modelDirectory: String, maxLength: Int = 64,
                options: EncoderOptions = EncoderOptions()) throws(CrossEncoderError) {
        tokenizer = try BertTokenizer(modelDirectory: modelDirectory)
        model = try BertForSequenceClassification(modelDirectory: modelDirectory, options: options)
        guard maxLength >= 3, maxLength <= model.config.maxPositionEmbeddings else {
            throw .invalidArgument(name: "max_length", problem: "\(maxLength) is outside 3…\(model.config.maxPositionEmbeddings)")
        }
        guard model.config.vocabSize >= tokenizer.vocabulary.count else {
            throw .invalidConfiguration(path: modelDirectory + "/config.json", field: "vocab_size",
                                        problem: "\(model.config.vocabSize) is smaller than vocab.txt's \(tokenizer.vocabulary.count) tokens")
        }
        self.maxLength = maxLength
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
            for s in try model.forward(PackedBatch(encodings)) {
                out.append(PairScore(logits: s.logits, probabilities: s.probabilities,
                                     matchProbability: s.probabilities[model.config.matchIndex]))
            }
            start = end
        }
        return out
    }
}
