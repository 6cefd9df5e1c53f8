/// How a candidate Preferred Term is rendered to the text that BM25 indexes
/// and the cross-encoder reads (docs/PIPELINE.md §Templates).
public enum CandidateTemplate: String, CaseIterable, Sendable {
    /// `PT: {pt}；LLT别名: {aliases}；HLT: …；HLGT: …；SOC: …` (the default).
    case full
    /// `PT: {pt}`
    case ptOnly = "pt_only"
    /// `PT: {pt}；LLT别名: {a1 | a2 | …}` with at most the first 8 aliases.
    case ptLLT = "pt_llt"

    public static let `default`: CandidateTemplate = .full
}
