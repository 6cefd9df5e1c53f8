/// The BERT encoder (`BertModel`): embeddings, the transformer blocks and,
/// when the checkpoint has one, the pooler. Immutable after `load`; one
/// instance may serve forward passes from several threads.
public struct BertModel: Sendable {
    public let config: BertConfiguration
    let embeddings: BertEmbeddings
    let layers: [BertLayer]
    let pooler: BertPooler?

    /// Loads the weights `config` describes; the pooler is optional unless
    /// `requirePooler`.
    public static func load(_ weights: BertWeights, _ config: BertConfiguration,
                            requirePooler: Bool = false) throws(CrossEncoderError) -> BertModel {
        var layers: [BertLayer] = []
        for i in 0..<config.numHiddenLayers { layers.append(try BertLayer.load(weights, config, index: i)) }
        let pooler: BertPooler? = (requirePooler || weights.contains("pooler.dense.weight"))
            ? try BertPooler.load(weights, config) : nil
        return BertModel(config: config, embeddings: try BertEmbeddings.load(weights, config), layers: layers,
                         pooler: pooler)
    }

    /// The outputs of one forward pass.
    public struct Output: Sendable {
        public let batch: PackedBatch
        /// `[tokens, hidden]`, the sequences' rows at `batch.ranges`.
        public let lastHiddenState: FloatStorage
        /// `[sequences, hidden]`, nil without a pooler.
        public let pooled: FloatStorage?
        public let hiddenSize: Int

        /// The last hidden state of sequence `i`, `[length, hidden]` row-major.
        public func lastHiddenState(sequence i: Int) -> [Float] {
            let r = batch.ranges[i]
            return Array(UnsafeBufferPointer(start: lastHiddenState.pointer + r.lowerBound * hiddenSize,
                                             count: r.count * hiddenSize))
        }

        public func pooled(sequence i: Int) -> [Float]? {
            pooled.map { Array(UnsafeBufferPointer(start: $0.pointer + i * hiddenSize, count: hiddenSize)) }
        }
    }

    /// Checks that every id, token type and length fits the model.
    public func validate(_ batch: PackedBatch) throws(CrossEncoderError) {
        for (i, s) in batch.sequences.enumerated() {
            guard s.count > 0 else { throw .invalidArgument(name: "sequence \(i)", problem: "is empty") }
            guard s.count <= config.maxPositionEmbeddings else {
                throw .invalidArgument(name: "sequence \(i)", problem: "has \(s.count) tokens; the model takes at most \(config.maxPositionEmbeddings)")
            }
            guard s.inputIDs.allSatisfy({ $0 >= 0 && Int($0) < config.vocabSize }) else {
                throw .invalidArgument(name: "sequence \(i)", problem: "has a token id outside the vocabulary of \(config.vocabSize)")
            }
            guard s.tokenTypeIDs.allSatisfy({ $0 >= 0 && Int($0) < config.typeVocabSize }) else {
                throw .invalidArgument(name: "sequence \(i)", problem: "has a token type outside 0..<\(config.typeVocabSize)")
            }
        }
    }

    public func forward(_ batch: PackedBatch) throws(CrossEncoderError) -> Output {
        try validate(batch)
        let scratch = ForwardScratch(batch: batch, config: config)
        run(batch, scratch)
        return Output(batch: batch, lastHiddenState: scratch.hidden, pooled: pooler == nil ? nil : scratch.pooled,
                      hiddenSize: config.hiddenSize)
    }

    /// The forward pass. With `firstTokensOnly`, the last block runs for the
    /// [CLS] rows only (all a classifier reads) and `scratch.hidden` is left
    /// at the previous block's output; otherwise `scratch.hidden` holds the
    /// last hidden state. Either way `scratch.firstTokens` gets the last
    /// block's [CLS] rows and, with a pooler, `scratch.pooled` the pooled output.
    func run(_ batch: PackedBatch, _ scratch: ForwardScratch, firstTokensOnly: Bool = false) {
        if batch.count == 0 { return }
        let h = config.hiddenSize
        embeddings.forward(batch, into: scratch.hidden.pointer)
        for (i, layer) in layers.enumerated() {
            if firstTokensOnly && i == layers.count - 1 {
                layer.forwardFirstTokens(batch, hidden: scratch.hidden.pointer, scratch: scratch,
                                         into: scratch.firstTokens.pointer)
            } else {
                layer.forward(batch, hidden: scratch.hidden.pointer, scratch: scratch)
            }
        }
        if !firstTokensOnly || layers.isEmpty {
            for (s, range) in batch.ranges.enumerated() {
                (scratch.firstTokens.pointer + s * h).update(from: scratch.hidden.pointer + range.lowerBound * h, count: h)
            }
        }
        pooler?.forward(firstTokens: scratch.firstTokens.pointer, count: batch.count, into: scratch.pooled.pointer)
    }
}
