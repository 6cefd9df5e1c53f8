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
    /// The version in `meddra_release.asc` of a MedDRA ASCII folder, or the one
    /// given with `withMedDRAVersion` (`--dictionary-version`); nil when unknown.
    public private(set) var medDRAVersion: String?
    public let counts: DictionaryCounts
    /// SHA-256 (hex) of the canonical candidate list; see `canonicalText`.
    public let digest: String
    public let report: DictionaryLoadReport
    /// The current LLTs under each candidate (same index as `terms`), the
    /// PT's own LLT included, ordered by LLT code (numerically for all-digit
    /// codes; source order among LLTs without a code).
    public let llts: [[LowestLevelTerm]]
    /// Every LLT other than the PT's own came with a code (false for a CSV
    /// without an `llt_code` column: its aliases are coded with an empty code).
    public let hasLLTCodes: Bool
    /// SHA-256 (hex) of the LLT coding table; see `lltCanonicalText`.
    public let lltDigest: String
    private let codeIndex: [[UInt8]: Int]
    private let lltIndex: [[UInt8]: LLTEntry]

    /// An LLT found by code, with the candidate of its PT.
    public struct LLTEntry: Sendable, Hashable {
        public var candidateIndex: Int
        public var llt: LowestLevelTerm
    }

    /// `llts`: the current LLTs of each candidate (any order; the PT's own is
    /// added where missing); nil derives them from the aliases, without codes.
    /// `nonCurrentLLTs` are known by code (to refuse them) but never chosen.
    public init(terms: [PreferredTerm], source: String = "", format: Format = .csv,
                medDRAVersion: String? = nil, report: DictionaryLoadReport = DictionaryLoadReport(),
                llts: [[LowestLevelTerm]]? = nil, nonCurrentLLTs: [LowestLevelTerm] = []) {
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

        var table: [[LowestLevelTerm]] = []
        table.reserveCapacity(terms.count)
        var coded = true
        for (i, term) in terms.enumerated() {
            var list: [LowestLevelTerm]
            if let llts {
                list = i < llts.count ? llts[i].filter(\.isCurrent) : []
            } else {
                list = term.lltNames.filter { !$0.utf8.elementsEqual(term.ptName.utf8) }
                    .map { LowestLevelTerm(code: "", name: $0, ptCode: term.ptCode) }
            }
            if !list.contains(where: { $0.code.utf8.elementsEqual(term.ptCode.utf8) }) {
                list.append(.own(term))
            }
            if list.contains(where: { $0.code.isEmpty }) { coded = false }
            table.append(list.enumerated().sorted { a, b in
                if Self.codeOrder(a.element.code, b.element.code) { return true }
                if Self.codeOrder(b.element.code, a.element.code) { return false }
                return a.offset < b.offset
            }.map(\.element))
        }
        self.llts = table
        hasLLTCodes = coded
        var index: [[UInt8]: LLTEntry] = [:]
        for (i, list) in table.enumerated() {
            for llt in list where !llt.code.isEmpty && index[Array(llt.code.utf8)] == nil {
                index[Array(llt.code.utf8)] = LLTEntry(candidateIndex: i, llt: llt)
            }
        }
        for llt in nonCurrentLLTs where !llt.code.isEmpty && index[Array(llt.code.utf8)] == nil {
            if let i = codes[Array(llt.ptCode.utf8)] { index[Array(llt.code.utf8)] = LLTEntry(candidateIndex: i, llt: llt) }
        }
        lltIndex = index
        var lltHash = SHA256()
        for list in table { for llt in list { lltHash.update(Self.lltCanonicalLine(llt)) } }
        lltDigest = lltHash.finalizeHex()
    }

    /// The same dictionary with its MedDRA version set (for a CSV, or a
    /// folder without a release file).
    public func withMedDRAVersion(_ version: String?) -> CandidateDictionary {
        var copy = self
        copy.medDRAVersion = version
        return copy
    }

    /// The LLT with this code (current or not), with its PT's candidate.
    public func llt(code: String) -> LLTEntry? { lltIndex[Array(code.utf8)] }

    /// The text `lltDigest` is taken over: per current LLT, candidate by
    /// candidate and by LLT code, the JSON array `[pt_code,llt_code,llt_name]`
    /// (as `canonicalText` writes strings) and a newline. A CSV with
    /// `llt_code` and the MedDRA folder it came from have the same LLT digest.
    public var lltCanonicalText: String { llts.flatMap { $0 }.map(Self.lltCanonicalLine).joined() }

    static func lltCanonicalLine(_ l: LowestLevelTerm) -> String {
        "[" + [pythonJSON(l.ptCode), pythonJSON(l.code), pythonJSON(l.name)].joined(separator: ",") + "]\n"
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
