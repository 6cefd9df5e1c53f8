import Foundation

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
