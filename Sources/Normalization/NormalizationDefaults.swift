import Terminology

/// The values a request takes when it leaves a field unset (DESIGN §4).
public enum NormalizationDefaults {
    public static let topK = 100
    public static let threshold = 0.3
    public static let template = CandidateTemplate.full
    /// Longest mention accepted, in Unicode code points. ADR mentions are
    /// phrases; anything this long is a whole report pasted by mistake.
    public static let maxMentionCharacters = 512
    /// Most tokens in one scoring batch (see the scheduler benchmark in the
    /// commit that set it).
    public static let maxBatchTokens = 8192
}
