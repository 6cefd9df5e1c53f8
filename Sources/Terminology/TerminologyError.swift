/// Why a dictionary could not be loaded. Every case names the file and, where
/// there is one, the 1-based line, so that the user can fix the source.
public enum TerminologyError: Error, Equatable, CustomStringConvertible {
    /// The path does not exist or cannot be read.
    case unreadable(path: String, reason: String)
    /// A required file of a MedDRA ASCII folder is missing.
    case missingFile(folder: String, name: String)
    /// The bytes at `line` are not valid in `encoding` (UTF-8 or GB18030).
    case invalidEncoding(file: String, line: Int, encoding: String)
    /// The CSV header lacks required columns.
    case missingColumns(file: String, line: Int, columns: [String])
    /// A required field of a row is empty (e.g. `pt_code`, `pt_name`).
    case missingField(file: String, line: Int, field: String)
    /// A CSV record is malformed (an unterminated quote, text after a closing quote,
    /// or a different number of fields than the header).
    case malformedRow(file: String, line: Int, problem: String)
    /// A `$`-separated record has the wrong number of fields.
    case wrongFieldCount(file: String, line: Int, expected: Int, found: Int)
    /// A field holds a value outside its domain (e.g. `llt_currency` not Y/N) or a
    /// code that the file it refers to does not define.
    case invalidValue(file: String, line: Int, field: String, problem: String)
    /// A PT of `pt.asc` has no primary-SOC row in `mdhier.asc`.
    case noHierarchyPath(file: String, line: Int, ptCode: String)
    /// The source defines no PT at all.
    case empty(file: String)
    /// The caller asked for an encoding adrnorm does not read.
    case unsupportedEncoding(String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "\(path): cannot read (\(reason))"
        case let .missingFile(folder, name):
            return "\(folder): required MedDRA ASCII file \(name) is missing"
        case let .invalidEncoding(file, line, encoding):
            return "\(file):\(line): invalid \(encoding) text"
                + (encoding == "UTF-8" ? " (for a GB18030 MedDRA folder pass --encoding gb18030)" : "")
        case let .missingColumns(file, line, columns):
            return "\(file):\(line): header lacks required column(s) \(columns.joined(separator: ", "))"
                + " (expected pt_code,pt_name,llt_name,hlt_name,hlgt_name,soc_name)"
        case let .missingField(file, line, field):
            return "\(file):\(line): \(field) is empty"
        case let .malformedRow(file, line, problem):
            return "\(file):\(line): \(problem)"
        case let .wrongFieldCount(file, line, expected, found):
            return "\(file):\(line): expected \(expected) $-separated fields, found \(found)"
        case let .invalidValue(file, line, field, problem):
            return "\(file):\(line): \(field): \(problem)"
        case let .noHierarchyPath(file, line, ptCode):
            return "\(file):\(line): PT \(ptCode) has no primary-SOC path (no mdhier.asc row with primary_soc_fg = Y)"
        case let .empty(file):
            return "\(file): the dictionary defines no PT"
        case let .unsupportedEncoding(name):
            return "unsupported encoding \(name) (use utf-8 or gb18030)"
        }
    }
}
