import Terminology

/// The values a request takes when it leaves a field unset (docs/PROTOCOL.md §The service).
public enum NormalizationDefaults {
    public static let topK = 100
    public static let threshold = 0.3
    public static let template = CandidateTemplate.full
    /// Longest mention accepted, in Unicode code points. ADR mentions are
    /// phrases; anything this long is a whole report pasted by mistake.
    public static let maxMentionCharacters = 512
    /// Most tokens in one scoring batch. Measured with `adrnorm bench
    /// pipeline` (pairs/s): demo model 1,770–1,990 at 2048 vs 1,460–1,500 at
    /// 8192; bert-base-sized 17.7 at both. Smaller batches also answer sooner.
    public static let maxBatchTokens = 2048
    /// A result is flagged for review when a retrieved candidate's probability
    /// lies within this of the threshold (`--review-margin`).
    public static let reviewMargin = 0.1
}
