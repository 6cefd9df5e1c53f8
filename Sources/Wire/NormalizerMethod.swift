/// The methods of `adrnorm.v1.Normalizer`, by their full wire names.
public enum NormalizerMethod: String, Sendable, CaseIterable {
    case retrieve = "/adrnorm.v1.Normalizer/Retrieve"
    case score = "/adrnorm.v1.Normalizer/Score"
    case normalize = "/adrnorm.v1.Normalizer/Normalize"
    case normalizeStream = "/adrnorm.v1.Normalizer/NormalizeStream"
    case info = "/adrnorm.v1.Normalizer/Info"
    case health = "/adrnorm.v1.Normalizer/Health"

    /// True for the bidirectional stream; the rest are unary.
    public var isStreaming: Bool { self == .normalizeStream }
}
