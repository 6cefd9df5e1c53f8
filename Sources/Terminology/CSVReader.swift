/// An RFC 4180 CSV reader over validated UTF-8 bytes: comma-separated fields,
/// optionally in double quotes with `""` for a quote, records ended by CRLF or
/// LF; a quoted field may span lines. Each record carries the 1-based line on
/// which it starts, for error messages.
struct CSVReader {
    struct Record {
        var line: Int
        var fields: [String]
    }

    enum Failure: Error {
        case unterminatedQuote(line: Int)
        case textAfterQuote(line: Int)
    }

    private let bytes: [UInt8]
    private var index = 0
    private var line = 1

    init(bytes: [UInt8]) { self.bytes = bytes }

    /// The next record, or nil at the end. A blank line is a record with one empty field.
    mutating func next() throws(Failure) -> Record? {
        let n = bytes.count
        if index >= n { return nil }
        let start = line
        var fields: [String] = []
        var field: [UInt8] = []
        while true {
            // One field.
            field.removeAll(keepingCapacity: true)
            if index < n && bytes[index] == 0x22 {
                index += 1
                var closed = false
                while index < n {
                    let c = bytes[index]
                    if c == 0x22 {
                        if index + 1 < n && bytes[index + 1] == 0x22 {
                            field.append(0x22); index += 2; continue
                        }
                        index += 1; closed = true; break
                    }
                    if c == 0x0A { line += 1 }
                    field.append(c); index += 1
                }
                if !closed { throw .unterminatedQuote(line: start) }
                if index < n && bytes[index] != 0x2C && bytes[index] != 0x0A
                    && !(bytes[index] == 0x0D && (index + 1 == n || bytes[index + 1] == 0x0A)) {
                    throw .textAfterQuote(line: line)
                }
            } else {
                while index < n {
                    let c = bytes[index]
                    if c == 0x2C || c == 0x0A { break }
                    if c == 0x0D && (index + 1 == n || bytes[index + 1] == 0x0A) { break }
                    field.append(c); index += 1
                }
            }
            fields.append(String(decoding: field, as: UTF8.self))
            if index >= n { break }
            let c = bytes[index]
            if c == 0x2C { index += 1; continue }
            if c == 0x0D { index += 1 }
            if index < n && bytes[index] == 0x0A { index += 1; line += 1 }
            break
        }
        return Record(line: start, fields: fields)
    }
}
