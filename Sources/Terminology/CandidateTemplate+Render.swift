extension CandidateTemplate {
    /// At most this many aliases appear in a candidate text: `{aliases}` is
    /// the first 8, joined by " | ", in `pt_llt` and `full` alike
    /// (docs/PIPELINE.md §Templates).
    public static let aliasLimit = 8

    /// The candidate text of `term` under this template, to the character
    /// (docs/PIPELINE.md §Templates). The separator is the full-width semicolon U+FF1B.
    public func render(_ term: PreferredTerm) -> String {
        render(ptName: term.ptName, aliases: term.lltNames, hltName: term.hltName,
               hlgtName: term.hlgtName, socName: term.socName)
    }

    /// The same from loose fields, as pair JSONL carries them.
    public func render(ptName: String, aliases: [String], hltName: String, hlgtName: String,
                       socName: String) -> String {
        switch self {
        case .ptOnly:
            return "PT: \(ptName)"
        case .ptLLT:
            if aliases.isEmpty { return "PT: \(ptName)" }
            return "PT: \(ptName)；LLT别名: \(Self.aliasText(aliases))"
        case .full:
            var parts = ["PT: \(ptName)"]
            if !aliases.isEmpty { parts.append("LLT别名: \(Self.aliasText(aliases))") }
            if !hltName.isEmpty { parts.append("HLT: \(hltName)") }
            if !hlgtName.isEmpty { parts.append("HLGT: \(hlgtName)") }
            if !socName.isEmpty { parts.append("SOC: \(socName)") }
            return parts.joined(separator: "；")
        }
    }

    private static func aliasText(_ aliases: [String]) -> String {
        aliases.prefix(aliasLimit).joined(separator: " | ")
    }
}
