/// The model input for one text or one (mention, candidate) pair:
/// `[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]`, with token types 0 for the
/// first part (its `[SEP]` included) and 1 for the second.
public struct PairEncoding: Sendable, Equatable {
    public var inputIDs: [Int32]
    public var tokenTypeIDs: [Int32]

    public init(inputIDs: [Int32], tokenTypeIDs: [Int32]) {
        precondition(inputIDs.count == tokenTypeIDs.count, "PairEncoding: ids and token types differ in length")
        self.inputIDs = inputIDs
        self.tokenTypeIDs = tokenTypeIDs
    }

    public var count: Int { inputIDs.count }
}
