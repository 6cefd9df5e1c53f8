internal import Digest

/// The candidate list of a dictionary source (docs/PIPELINE.md §Candidates): one
/// `PreferredTerm` per PT, in the order in which the PT code first appears in
/// the source, with the source's MedDRA version, counts, a digest and the load
/// report. Immutable and `Sendable`: load once, share everywhere.
///
/// Load with `CandidateDictionary.load(path:encoding:)` (a CSV file or a
/// MedDRA ASCII folder), or build one from terms for tests.
public struct CandidateDictionary: Sendable {
    /// Which layout the dictionary was read from.
    public enum Format: String, Sendable {
        case csv
        case medDRAASCII = "meddra_ascii"
    }

    public let terms: [PreferredTerm]
    /// The path it was loaded from ("" when built in memory).
    public let source: String
    public let format: Format
    /// The version in `meddra_release.asc` of a MedDRA ASCII folder; nil for a CSV
    /// or a folder without a release file.
    public let medDRAVersion: String?
    public let counts: DictionaryCounts
    /// SHA-256 (hex) of the canonical candidate list; see `canonicalText`.
    public let digest: String
    public let report: DictionaryLoadReport
    private let codeIndex: [[UInt8]: Int]

    public init(terms: [PreferredTerm], source: String = "", format: Format = .csv,
                medDRAVersion: String? = nil, report: DictionaryLoadReport = DictionaryLoadReport()) {
        self.terms = terms
        self.source = source
        self.format = format
        self.medDRAVersion = medDRAVersion
        self.report = report
        var socs = Set<[UInt8]>()
        var codes: [[UInt8]: Int] = [:]
        for (i, term) in terms.enumerated() {
            if !term.socName.isEmpty { socs.insert(Array(term.socName.utf8)) }
            if codes[Array(term.ptCode.utf8)] == nil { codes[Array(term.ptCode.utf8)] = i }
        }
        codeIndex = codes
        counts = DictionaryCounts(pts: terms.count, llts: terms.reduce(0) { $0 + $1.lltNames.count },
                                  socs: socs.count)
        var hash = SHA256()
        for term in terms { hash.update(Self.canonicalLine(term)) }
        digest = hash.finalizeHex()
    }

    /// The index of the candidate with this PT code (code points compared exactly).
    public func index(ofPTCode code: String) -> Int? { codeIndex[Array(code.utf8)] }

    /// The text the digest is taken over: per candidate, the JSON array
    /// `[pt_code,pt_name,[llt_names…],hlt_name,hlgt_name,soc_name]` as Python's
    /// `json.dumps(…, ensure_ascii=False, separators=(",", ":"))` writes it, and
    /// a newline. SOC codes are left out, so a CSV and the MedDRA folder it came
    /// from have the same digest.
    public var canonicalText: String { terms.map(Self.canonicalLine).joined() }

    static func canonicalLine(_ t: PreferredTerm) -> String {
        "[" + [pythonJSON(t.ptCode), pythonJSON(t.ptName),
               "[" + t.lltNames.map(pythonJSON).joined(separator: ",") + "]",
               pythonJSON(t.hltName), pythonJSON(t.hlgtName), pythonJSON(t.socName)].joined(separator: ",") + "]\n"
    }

    /// A JSON string literal exactly as Python's `json.dumps(s, ensure_ascii=False)`.
    static func pythonJSON(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar.value {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x08: out += "\\b"
            case 0x0C: out += "\\f"
            case 0..<0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
