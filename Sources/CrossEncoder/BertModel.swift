/// The BERT encoder (`BertModel`): embeddings, the transformer blocks and,
/// when the checkpoint has one, the pooler. Immutable after `load`; one
/// instance may serve forward passes from several threads.
public struct BertModel: Sendable {
    public let config: BertConfiguration
    public let options: EncoderOptions
    let embeddings: BertEmbeddings
    let layers: [BertLayer]
    let pooler: BertPooler?
    /// Activation buffers kept between passes, one per worker thread.
    let scratchPool: ScratchPool

    /// Loads the weights `config` describes; the pooler is optional unless
    /// `requirePooler`. With `options.precision == .int8` the blocks' dense
    /// layers are quantized as they load.
    public static func load(_ weights: BertWeights, _ config: BertConfiguration, requirePooler: Bool = false,
                            options: EncoderOptions = EncoderOptions()) throws(CrossEncoderError) -> BertModel {
        var layers: [BertLayer] = []
        for i in 0..<config.numHiddenLayers {
            layers.append(try BertLayer.load(weights, config, index: i, precision: options.precision))
        }
        let pooler: BertPooler? = (requirePooler || weights.contains("pooler.dense.weight"))
            ? try BertPooler.load(weights, config) : nil
        return BertModel(config: config, options: options, embeddings: try BertEmbeddings.load(weights, config),
                         layers: layers, pooler: pooler, scratchPool: ScratchPool(limit: options.threads))
    }

    /// Bytes of weights the model holds (int8 layers count their int8 size).
    public var weightBytes: Int {
        let h = config.hiddenSize
        var total = embeddings.word.count * 4 + embeddings.position.count * 4 + embeddings.tokenType.count * 4 + 8 * h
        for l in layers {
            total += l.qkv.byteCount + l.attentionOutput.byteCount + l.intermediate.byteCount + l.output.byteCount + 16 * h
        }
        return total + (pooler?.dense.byteCount ?? 0)
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
        let h = config.hiddenSize
        let hidden = FloatStorage(count: batch.tokenCount * h)
        let pooled = pooler == nil ? nil : FloatStorage(count: batch.count * h)
        runParallel(batch) { part in
            let tokens = batch.ranges[part.sequences.lowerBound].lowerBound
            (hidden.pointer + tokens * h).update(from: part.scratch.hidden.pointer, count: part.batch.tokenCount * h)
            if let pooled {
                (pooled.pointer + part.sequences.lowerBound * h).update(from: part.scratch.pooled.pointer,
                                                                        count: part.batch.count * h)
            }
        }
        return Output(batch: batch, lastHiddenState: hidden, pooled: pooled, hiddenSize: h)
    }

    /// One worker's share of a batch: its sequences (indices into the whole
    /// batch), them packed on their own, and its scratch after the pass.
    struct Part {
        let sequences: Range<Int>
        let batch: PackedBatch
        let scratch: ForwardScratch
    }

    /// Splits `batch` over `options.threads` workers by sequences and runs
    /// the forward pass (see `run`) on each part, then `finish` on the same
    /// thread; parts cover the batch in order and never overlap. A batch with
    /// fewer sequences than threads gives each part's GEMMs the spare threads.
    func runParallel(_ batch: PackedBatch, firstTokensOnly: Bool = false, finish: (Part) -> Void) {
        if batch.count == 0 { return }
        // Parallelism is ours: OpenBLAS runs each call on the calling thread.
        BLAS.useCallingThreadOnly()
        let groups = Self.partition(batch, parts: min(options.threads, batch.count), hiddenSize: config.hiddenSize)
        let columnSplit = max(1, options.threads / groups.count)
        func work(_ g: Int) {
            let sequences = groups[g]
            let part = groups.count == 1 ? batch : PackedBatch(Array(batch.sequences[sequences]))
            let scratch = scratchPool.take(for: part, config: config, precision: options.precision)
            scratch.columnSplit = columnSplit
            run(part, scratch, firstTokensOnly: firstTokensOnly)
            finish(Part(sequences: sequences, batch: part, scratch: scratch))
            scratchPool.giveBack(scratch)
        }
        ParallelFor.run(groups.count, work)
    }

    /// Contiguous runs of sequences with about equal cost each: a sequence of
    /// n tokens costs n (the projections) plus n²/(6·hidden) (attention).
    public static func partition(_ batch: PackedBatch, parts: Int, hiddenSize: Int) -> [Range<Int>] {
        precondition(parts >= 1 && parts <= batch.count, "partition: \(parts) parts of \(batch.count) sequences")
        if parts == 1 { return [0..<batch.count] }
        let costs = batch.sequences.map { Double($0.count) * (1 + Double($0.count) / Double(6 * hiddenSize)) }
        let total = costs.reduce(0, +)
        var bounds = [0]
        var cumulative = 0.0
        for (i, c) in costs.enumerated() {
            let target = total * Double(bounds.count) / Double(parts)
            // Cut before i when that lands nearer the target than after it,
            // keeping at least one sequence for each part still to come.
            let remainingParts = parts - bounds.count
            if bounds.count < parts && i > bounds.last!
                && (cumulative + c / 2 >= target || batch.count - i == remainingParts) {
                bounds.append(i)
            }
            cumulative += c
        }
        bounds.append(batch.count)
        return zip(bounds, bounds.dropFirst()).map { $0..<$1 }
    }

    /// The forward pass on one thread's batch. With `firstTokensOnly`, the last block runs for the
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
        pooler?.forward(firstTokens: scratch.firstTokens.pointer, count: batch.count, into: scratch.pooled.pointer,
                        scratch: scratch)
    }
}
