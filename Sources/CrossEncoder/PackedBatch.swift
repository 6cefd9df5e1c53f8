/// Sequences packed end to end, without padding: sequence `i` occupies
/// token rows `ranges[i]` of every activation matrix, so a batch of mixed
/// lengths costs what its tokens cost.
public struct PackedBatch: Sendable {
    public let sequences: [PairEncoding]
    public let ranges: [Range<Int>]
    public let tokenCount: Int
    public let longest: Int

    public init(_ sequences: [PairEncoding]) {
        self.sequences = sequences
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(sequences.count)
        var offset = 0
        for s in sequences {
            ranges.append(offset..<(offset + s.count))
            offset += s.count
        }
        self.ranges = ranges
        tokenCount = offset
        longest = sequences.map(\.count).max() ?? 0
    }

    public var count: Int { sequences.count }
}

/// Activation buffers for one forward pass, sized once per batch so that no
/// layer allocates per token or per pair.
final class ForwardScratch {
    let hidden: FloatStorage
    let qkv: FloatStorage
    let context: FloatStorage
    let attended: FloatStorage
    let intermediate: FloatStorage
    let scores: FloatStorage
    let gathered: FloatStorage
    let pooled: FloatStorage
    /// The last block's output for each sequence's first token.
    let firstTokens: FloatStorage

    init(batch: PackedBatch, config: BertConfiguration) {
        let t = batch.tokenCount, h = config.hiddenSize
        hidden = FloatStorage(count: t * h)
        qkv = FloatStorage(count: t * 3 * h)
        context = FloatStorage(count: t * h)
        attended = FloatStorage(count: t * h)
        intermediate = FloatStorage(count: t * config.intermediateSize)
        scores = FloatStorage(count: batch.longest * batch.longest)
        gathered = FloatStorage(count: batch.count * h)
        pooled = FloatStorage(count: batch.count * h)
        firstTokens = FloatStorage(count: batch.count * h)
    }
}
