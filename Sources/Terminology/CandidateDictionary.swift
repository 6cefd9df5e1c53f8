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

/// Sizes of a dictionary. `llts` counts the aliases the candidates carry (the
/// current LLTs other than the PT's own), so a CSV and the MedDRA folder it was
/// made from give the same numbers; `socs` counts distinct SOC names in use.
public struct DictionaryCounts: Sendable, Equatable {
    public var pts: Int
    public var llts: Int
    public var socs: Int
    public init(pts: Int, llts: Int, socs: Int) {
        self.pts = pts
        self.llts = llts
        self.socs = socs
    }
}

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

/// Collects candidates in order of first appearance; aliases distinct (code
/// points compared exactly, as Python compares strings), trimmed, empty dropped.
struct CandidateBuilder {
    var terms: [PreferredTerm] = []
    private var indexByCode: [[UInt8]: Int] = [:]
    private var aliasSeen: [Set<[UInt8]>] = []

    func index(of code: String) -> Int? { indexByCode[Array(code.utf8)] }

    mutating func add(_ term: PreferredTerm) -> Int {
        indexByCode[Array(term.ptCode.utf8)] = terms.count
        terms.append(term)
        aliasSeen.append([])
        return terms.count - 1
    }

    enum AliasOutcome { case added, empty, duplicate }

    mutating func addAlias(_ raw: String, to i: Int) -> AliasOutcome {
        let alias = raw.trimmingPythonWhitespace
        if alias.isEmpty { return .empty }
        if !aliasSeen[i].insert(Array(alias.utf8)).inserted { return .duplicate }
        terms[i].lltNames.append(alias)
        return .added
    }
}
