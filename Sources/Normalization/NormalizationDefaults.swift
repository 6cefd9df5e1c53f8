import Terminology

/// The values a request takes when it leaves a field unset (DESIGN §4).
public enum NormalizationDefaults {
    public static let topK = 100
    public static let threshold = 0.3
    public static let template = CandidateTemplate.full
}
