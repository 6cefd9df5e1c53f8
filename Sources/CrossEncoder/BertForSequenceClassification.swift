import Foundation

/// `BertForSequenceClassification`: BERT, the pooler, a linear classifier
/// and softmax. Immutable after loading; share it across threads.
public struct BertForSequenceClassification: Sendable {
    public let bert: BertModel
    let classifier: Linear

    public var config: BertConfiguration { bert.config }

    public var options: EncoderOptions { bert.options }

    public static func load(_ weights: BertWeights, _ config: BertConfiguration,
                            options: EncoderOptions = EncoderOptions()) throws(CrossEncoderError) -> Self {
        let bert = try BertModel.load(weights, config, requirePooler: true, options: options)
        let classifier = try Linear.load(weights, "classifier", in: config.hiddenSize, out: config.labels.count)
        return Self(bert: bert, classifier: classifier)
    }

    /// Loads `config.json` and `model.safetensors` from a model folder.
    public init(modelDirectory: String, options: EncoderOptions = EncoderOptions()) throws(CrossEncoderError) {
        try ModelFolder.check(modelDirectory)
        let config = try BertConfiguration(contentsOf: URL(fileURLWithPath: modelDirectory)
            .appendingPathComponent("config.json").path)
        guard config.labels.count >= 2 else {
            throw .invalidConfiguration(path: modelDirectory + "/config.json", field: "id2label",
                                        problem: "a pair classifier needs at least 2 labels, found \(config.labels.count)")
        }
        self = try Self.load(try BertWeights(modelDirectory: modelDirectory), config, options: options)
    }

    private init(bert: BertModel, classifier: Linear) {
        self.bert = bert
        self.classifier = classifier
    }

    /// Scores the sequences of one packed batch.
    public func forward(_ batch: PackedBatch) throws(CrossEncoderError) -> [SequenceScore] {
        try bert.validate(batch)
        if batch.count == 0 { return [] }
        let labels = classifier.outFeatures
        let logits = FloatStorage(count: batch.count * labels)
        bert.runParallel(batch, firstTokensOnly: true) { part in
            classifier.forward(part.scratch.pooled.pointer, rows: part.batch.count,
                               into: logits.pointer + part.sequences.lowerBound * labels, scratch: part.scratch)
        }
        return (0..<batch.count).map { s in
            let row = Array(UnsafeBufferPointer(start: logits.pointer + s * labels, count: labels))
            // Softmax in Double: probabilities near 0 or 1 keep their digits.
            let m = Double(row.max()!)
            let e = row.map { Foundation.exp(Double($0) - m) }
            let sum = e.reduce(0, +)
            return SequenceScore(logits: row, probabilities: e.map { Float($0 / sum) })
        }
    }
}
