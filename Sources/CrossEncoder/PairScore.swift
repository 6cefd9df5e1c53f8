import Foundation

/// Scores of one (mention, candidate) pair: the one score type from the
/// encoder to the wire. `logits` and `probabilities` are in the model's
/// label order (config.json's id2label); the label order of
/// docs/PIPELINE.md §Scoring, [not_match, match], is settled here and only
/// here, by the accessors below.
public struct PairScore: Sendable, Equatable {
    public var logits: [Float]
    public var probabilities: [Float]
    /// Index of the `match` label in `logits` and `probabilities`.
    public var matchIndex: Int

    public init(logits: [Float], probabilities: [Float], matchIndex: Int) {
        self.logits = logits
        self.probabilities = probabilities
        self.matchIndex = matchIndex
    }

    /// Index of the `not_match` label: the other one of a two-label model.
    public var notMatchIndex: Int { matchIndex == 1 ? 0 : 1 }
    /// `prob_1`: the probability of the `match` label.
    public var matchProbability: Float { probabilities[matchIndex] }
    /// `prob_0`: the probability of the `not_match` label.
    public var notMatchProbability: Float { probabilities[notMatchIndex] }
    /// `logit_1` and `logit_0`.
    public var matchLogit: Float { logits[matchIndex] }
    public var notMatchLogit: Float { logits[notMatchIndex] }
}
