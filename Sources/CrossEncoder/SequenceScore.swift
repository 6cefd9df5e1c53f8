import Foundation

/// The logits and softmax probabilities of one sequence.
public struct SequenceScore: Sendable, Equatable {
    public var logits: [Float]
    public var probabilities: [Float]
}
