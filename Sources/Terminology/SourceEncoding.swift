import Foundation

/// The text encodings a dictionary source may use (docs/PIPELINE.md §Candidates: UTF-8 by
/// default, GB18030 on request for MedDRA ASCII folders).
public enum SourceEncoding: String, Sendable, CaseIterable {
    case utf8 = "utf-8"
    case gb18030

    /// Parses a user-supplied name: `utf-8`/`utf8`, `gb18030`, or `gbk`
    /// (a subset of GB18030, read as GB18030), in any case.
    public init(name: String) throws(TerminologyError) {
        switch name.lowercased() {
        case "utf-8", "utf8": self = .utf8
        case "gb18030", "gb-18030", "gbk": self = .gb18030
        default: throw .unsupportedEncoding(name)
        }
    }

    public var displayName: String { self == .utf8 ? "UTF-8" : "GB18030" }
}
