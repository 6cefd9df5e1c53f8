/// One candidate of the dictionary: a MedDRA Preferred Term with its aliases
/// (LLT names) and its primary-SOC hierarchy (docs/PIPELINE.md §Candidates).
public struct PreferredTerm: Hashable, Sendable {
    public var ptCode: String
    public var ptName: String
    /// Distinct, trimmed, non-empty LLT names in source order.
    public var lltNames: [String]
    public var hltName: String
    public var hlgtName: String
    public var socName: String
    /// Empty when the source has no SOC codes (a CSV).
    public var socCode: String

    public init(ptCode: String, ptName: String, lltNames: [String] = [], hltName: String = "",
                hlgtName: String = "", socName: String = "", socCode: String = "") {
        self.ptCode = ptCode
        self.ptName = ptName
        self.lltNames = lltNames
        self.hltName = hltName
        self.hlgtName = hlgtName
        self.socName = socName
        self.socCode = socCode
    }
}
