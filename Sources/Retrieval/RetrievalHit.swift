/// One ranked candidate. Its rank is its position in the result (1-based).
public struct RetrievalHit: Sendable, Equatable {
    /// Index into the dictionary's `terms` (= candidate order).
    public var candidateIndex: Int
    public var score: Double
    /// `score / max score among the kept`, 0 when that max is 0.
    public var probability: Double

    public init(candidateIndex: Int, score: Double, probability: Double) {
        self.candidateIndex = candidateIndex
        self.score = score
        self.probability = probability
    }
}
