/// A MedDRA Lowest Level Term: the level at which a safety report codes a
/// reaction (ICH E2B(R3) E.i.2.1b). LLT codes are extra data of a dictionary:
/// they are never rendered into candidate text or scored.
public struct LowestLevelTerm: Hashable, Sendable {
    /// Empty when the source has no LLT codes (a CSV without an `llt_code`
    /// column); the PT's own LLT always has the PT's code.
    public var code: String
    public var name: String
    public var ptCode: String
    /// `llt_currency = Y`. Only current LLTs are ever chosen for coding.
    public var isCurrent: Bool

    public init(code: String, name: String, ptCode: String, isCurrent: Bool = true) {
        self.code = code
        self.name = name
        self.ptCode = ptCode
        self.isCurrent = isCurrent
    }

    /// The PT's own LLT (same code and name as the PT), which MedDRA always has.
    public static func own(_ term: PreferredTerm) -> LowestLevelTerm {
        LowestLevelTerm(code: term.ptCode, name: term.ptName, ptCode: term.ptCode)
    }
}

/// The LLT a matched PT is coded with, and how it was chosen.
public struct CodedLLT: Hashable, Sendable {
    public enum Choice: String, Sendable, CaseIterable {
        /// A current LLT of the PT whose name equals the trimmed mention.
        case exact
        /// The current LLT of the PT most similar to the mention
        /// (`CandidateDictionary.lltSimilarity`, at least
        /// `closestMinimumSimilarity`; ties by LLT code).
        case closest
        /// The PT's own LLT: no current LLT of the PT is similar enough.
        case ptLLT = "pt_llt"
        /// The LLT the company synonym list maps the mention to.
        case synonym
    }

    /// Empty when the dictionary has no code for the chosen LLT.
    public var code: String
    public var name: String
    public var how: Choice

    public init(code: String, name: String, how: Choice) {
        self.code = code
        self.name = name
        self.how = how
    }
}
