import Foundation

/// One `$`-separated MedDRA file: records of trimmed fields with their line
/// numbers. The trailing `$` that ends every MedDRA record is optional; CR
/// before LF is dropped.
struct DollarFile {
    struct Record {
        var line: Int
        var fields: [String]
    }

    let path: String
    private let bytes: [UInt8]
    private(set) var blankLines = 0

    init(path: String, encoding: SourceEncoding) throws(TerminologyError) {
        self.path = path
        bytes = try SourceText.read(path: path, encoding: encoding)
        var blanks = 0
        forEachLine { _, fields in if fields == nil { blanks += 1 } }
        blankLines = blanks
    }

    private func forEachLine(_ body: (Int, ArraySlice<UInt8>?) -> Void) {
        var line = 1
        var start = 0
        let n = bytes.count
        while start < n {
            var end = start
            while end < n && bytes[end] != 0x0A { end += 1 }
            var stop = end
            if stop > start && bytes[stop - 1] == 0x0D { stop -= 1 }
            let text = bytes[start..<stop]
            body(line, text.allSatisfy { $0 == 0x20 || $0 == 0x09 } ? nil : text)
            line += 1
            start = end + 1
        }
    }

    /// The records, each with exactly `fields` fields (any count when nil).
    func records(fields expected: Int?) throws(TerminologyError) -> [Record] {
        var out: [Record] = []
        var failure: TerminologyError? = nil
        forEachLine { line, text in
            guard failure == nil, let text else { return }
            var parts = text.split(separator: 0x24, omittingEmptySubsequences: false)
            if let expected, parts.count == expected + 1, parts.last!.isEmpty { parts.removeLast() }
            if expected == nil, parts.count > 1, parts.last!.isEmpty { parts.removeLast() }
            if let expected, parts.count != expected {
                let found = parts.last!.isEmpty && parts.count > 1 ? parts.count - 1 : parts.count
                failure = .wrongFieldCount(file: path, line: line, expected: expected, found: found)
                return
            }
            out.append(Record(line: line, fields: parts.map { String(decoding: $0, as: UTF8.self).trimmingPythonWhitespace }))
        }
        if let failure { throw failure }
        return out
    }
}
