internal import Digest

/// A company's approved synonym list: verbatim terms mapped to LLT codes of
/// the dictionary. A mention equal to a verbatim (both trimmed of Python
/// whitespace, and folded when `folding` says so) is coded to that LLT and
/// its PT without scoring.
///
/// File format: CSV (RFC 4180), UTF-8 (BOM allowed) or GB18030, a header
/// naming the columns `verbatim` and `llt_code` (any order, other columns
/// ignored), then one row per verbatim; blank lines are skipped.
public struct SynonymList: Sendable {
    /// How a verbatim and a mention are compared.
    public enum Folding: String, Sendable, CaseIterable {
        /// Code points compared exactly (after trimming).
        case none
        /// Full-width ASCII forms (U+FF01–U+FF5E) and the ideographic space
        /// (U+3000) read as their ASCII counterparts, then lowercased.
        case widthCase = "width-case"
    }

    public struct Entry: Sendable, Hashable {
        /// As written in the file (trimmed).
        public var verbatim: String
        public var llt: LowestLevelTerm
        /// The candidate (dictionary index) of the LLT's PT.
        public var candidateIndex: Int
        /// 1-based line of the file.
        public var line: Int
    }

    public let source: String
    public let folding: Folding
    /// SHA-256 (hex) of the file's bytes as stored (what `sha256sum` prints).
    public let digest: String
    /// `lltDigest` of the dictionary the list was checked against.
    public let dictionaryLLTDigest: String
    /// Distinct verbatims.
    public var count: Int { entries.count }
    /// Rows that repeat a verbatim with the same LLT (ignored).
    public let duplicateRows: Int
    private let entries: [[UInt8]: Entry]

    /// The entry for this mention, if any.
    public func lookup(_ mention: String) -> Entry? {
        entries[Array(Self.key(mention, folding: folding).utf8)]
    }

    /// The comparison key of a verbatim or a mention.
    public static func key(_ text: String, folding: Folding) -> String {
        let trimmed = text.trimmingPythonWhitespace
        guard folding == .widthCase else { return trimmed }
        var out = String.UnicodeScalarView()
        for s in trimmed.unicodeScalars {
            switch s.value {
            case 0xFF01...0xFF5E: out.append(Unicode.Scalar(s.value - 0xFEE0)!)
            case 0x3000: out.append(" ")
            default: out.append(s)
            }
        }
        return String(out).lowercased().trimmingPythonWhitespace
    }

    /// Reads and checks the list against `dictionary`: every LLT code must be
    /// an LLT of the dictionary and current, and no verbatim may map to two
    /// LLTs. Errors name the file, the line and the problem.
    public static func load(path: String, encoding: SourceEncoding = .utf8, folding: Folding = .none,
                            dictionary: CandidateDictionary) throws(SynonymListError) -> SynonymList {
        let bytes: [UInt8]
        do {
            bytes = try SourceText.read(path: path, encoding: encoding)
        } catch {
            switch error {
            case let .invalidEncoding(file, line, name):
                throw SynonymListError(file: file, line: line, problem: "invalid \(name) text"
                    + (encoding == .utf8 ? " (for a GB18030 file pass --synonyms-encoding gb18030)" : ""))
            case let .unreadable(file, reason):
                throw SynonymListError(file: file, line: nil, problem: "cannot read (\(reason))")
            default:
                throw SynonymListError(file: path, line: nil, problem: error.description)
            }
        }
        var reader = CSVReader(bytes: bytes)
        func next() throws(SynonymListError) -> CSVReader.Record? {
            do {
                return try reader.next()
            } catch {
                switch error {
                case .unterminatedQuote(let line):
                    throw SynonymListError(file: path, line: line, problem: "a quoted field is never closed")
                case .textAfterQuote(let line):
                    throw SynonymListError(file: path, line: line, problem: "text after the closing quote of a field")
                }
            }
        }
        func isBlank(_ r: CSVReader.Record) -> Bool { r.fields.count == 1 && r.fields[0].trimmingPythonWhitespace.isEmpty }

        var header: CSVReader.Record? = nil
        while let r = try next() {
            if isBlank(r) { continue }
            header = r
            break
        }
        guard let header else { throw SynonymListError(file: path, line: nil, problem: "the file is empty (expected a header verbatim,llt_code)") }
        let names = header.fields.map { $0.trimmingPythonWhitespace }
        guard let vColumn = names.firstIndex(of: "verbatim"), let cColumn = names.firstIndex(of: "llt_code") else {
            throw SynonymListError(file: path, line: header.line,
                                   problem: "the header must name the columns verbatim and llt_code (found \(names.joined(separator: ",")))")
        }
        var entries: [[UInt8]: Entry] = [:]
        var duplicates = 0
        while let r = try next() {
            if isBlank(r) { continue }
            guard r.fields.count == names.count else {
                throw SynonymListError(file: path, line: r.line,
                                       problem: "expected \(names.count) fields as in the header, found \(r.fields.count)")
            }
            let verbatim = r.fields[vColumn].trimmingPythonWhitespace
            let code = r.fields[cColumn].trimmingPythonWhitespace
            if verbatim.isEmpty { throw SynonymListError(file: path, line: r.line, problem: "verbatim is empty") }
            if code.isEmpty { throw SynonymListError(file: path, line: r.line, problem: "llt_code is empty") }
            guard let found = dictionary.llt(code: code) else {
                throw SynonymListError(file: path, line: r.line, problem: "unknown LLT code \(code): not an LLT of the dictionary"
                    + (dictionary.hasLLTCodes ? "" : " (its CSV has no llt_code column, so only PT codes are known as LLT codes)"))
            }
            guard found.llt.isCurrent else {
                throw SynonymListError(file: path, line: r.line,
                                       problem: "LLT \(code) (\(found.llt.name)) is not current (llt_currency = N)")
            }
            let key = Array(Self.key(verbatim, folding: folding).utf8)
            if let first = entries[key] {
                if first.llt.code.utf8.elementsEqual(code.utf8) { duplicates += 1; continue }
                throw SynonymListError(file: path, line: r.line,
                                       problem: "verbatim \"\(verbatim)\" is mapped to LLT \(code) here and to LLT \(first.llt.code) "
                                           + "on line \(first.line)" + (folding == .none ? "" : " (compared with folding \(folding.rawValue))"))
            }
            entries[key] = Entry(verbatim: verbatim, llt: found.llt, candidateIndex: found.candidateIndex, line: r.line)
        }
        if entries.isEmpty { throw SynonymListError(file: path, line: nil, problem: "the list maps no verbatim") }
        let digest: String
        do {
            digest = try FileDigest.sha256(ofFile: path)
        } catch {
            throw SynonymListError(file: path, line: nil, problem: error.reason)
        }
        return SynonymList(source: path, folding: folding, digest: digest, dictionaryLLTDigest: dictionary.lltDigest,
                           duplicateRows: duplicates, entries: entries)
    }
}

/// Why a synonym list could not be loaded: the file, the 1-based line (when
/// there is one) and the problem.
public struct SynonymListError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var problem: String

    public var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): \(problem)" }
}
