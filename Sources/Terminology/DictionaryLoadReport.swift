/// What a loader read, skipped and noticed: every record that did not become
/// (part of) a candidate is counted here, and conflicts become warnings. The
/// library never prints; callers show `summary` and `warnings`.
public struct DictionaryLoadReport: Sendable, Equatable {
    /// One line per problem that did not stop the load (e.g. a PT whose CSV rows
    /// disagree on its hierarchy: first row wins).
    public var warnings: [String] = []
    /// Data records read (CSV rows after the header; `llt.asc` lines for a folder).
    public var recordsRead = 0
    /// Blank lines skipped.
    public var blankLines = 0
    /// Rows/LLTs whose alias was empty after trimming (the PT itself is kept).
    public var emptyAliases = 0
    /// Aliases already listed for the same PT.
    public var duplicateAliases = 0
    /// `llt.asc` rows with `llt_currency = N`.
    public var nonCurrentLLTs = 0
    /// Current LLTs whose name equals their PT's name (not an alias by definition).
    public var ptNamedLLTs = 0
    /// `mdhier.asc` rows with `primary_soc_fg = N`.
    public var secondaryPaths = 0
    /// CSV rows whose PT name or hierarchy differs from the PT's first row.
    public var conflictingRows = 0

    public init() {}

    /// Human-readable lines: what was read and everything skipped, with counts.
    public var summary: [String] {
        var lines = ["records read: \(recordsRead)"]
        let skipped: [(String, Int)] = [
            ("blank lines", blankLines), ("empty aliases", emptyAliases),
            ("duplicate aliases", duplicateAliases), ("non-current LLTs (llt_currency = N)", nonCurrentLLTs),
            ("LLTs named as their PT", ptNamedLLTs), ("secondary SOC paths (primary_soc_fg = N)", secondaryPaths),
            ("rows with conflicting hierarchy (first row wins)", conflictingRows),
        ]
        for (what, n) in skipped where n > 0 { lines.append("skipped \(what): \(n)") }
        return lines
    }
}
