import Foundation

extension CandidateDictionary {
    /// The CSV columns a dictionary must have, in their usual order
    /// (docs/PIPELINE.md §Candidates).
    public static let csvColumns = ["pt_code", "pt_name", "llt_name", "hlt_name", "hlgt_name", "soc_name"]
    /// The optional column with each row's LLT code. Without it the aliases
    /// have no code (only each PT's own LLT, coded with the PT code, does).
    public static let csvLLTCodeColumn = "llt_code"

    /// Loads a CSV file or a MedDRA ASCII folder, whichever `path` is.
    /// `encoding` applies to folders (a CSV is always UTF-8, BOM allowed).
    public static func load(path: String, encoding: SourceEncoding = .utf8) throws(TerminologyError) -> CandidateDictionary {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .unreadable(path: path, reason: "no such file or folder")
        }
        if isDirectory.boolValue { return try loadMedDRAASCII(folder: path, encoding: encoding) }
        return try loadCSV(path: path)
    }

    /// Reads the dictionary CSV (docs/PIPELINE.md §Candidates): UTF-8 with an
    /// optional BOM, RFC 4180 quoting, header naming at least the six columns (any order, extra columns
    /// ignored; an optional `llt_code` column gives each row's LLT code, which
    /// must then be set and unique), one row per LLT. Fields are trimmed of Python whitespace. A
    /// row's PT name and hierarchy come from the PT's first row; a later row that
    /// disagrees is counted and the PT gets one warning.
    public static func loadCSV(path: String) throws(TerminologyError) -> CandidateDictionary {
        let bytes = try SourceText.read(path: path, encoding: .utf8)
        var reader = CSVReader(bytes: bytes)
        var report = DictionaryLoadReport()

        func nextRecord() throws(TerminologyError) -> CSVReader.Record? {
            do {
                return try reader.next()
            } catch let failure {
                switch failure {
                case .unterminatedQuote(let line):
                    throw .malformedRow(file: path, line: line, problem: "a quoted field is never closed")
                case .textAfterQuote(let line):
                    throw .malformedRow(file: path, line: line, problem: "text after the closing quote of a field")
                }
            }
        }
        func isBlank(_ r: CSVReader.Record) -> Bool { r.fields.count == 1 && r.fields[0].trimmingPythonWhitespace.isEmpty }

        var headerRecord: CSVReader.Record? = nil
        while let r = try nextRecord() {
            if isBlank(r) { report.blankLines += 1; continue }
            headerRecord = r
            break
        }
        guard let header = headerRecord else { throw .empty(file: path) }
        let names = header.fields.map { $0.trimmingPythonWhitespace }
        var column: [String: Int] = [:]
        for (i, name) in names.enumerated() where column[name] == nil { column[name] = i }
        let missing = csvColumns.filter { column[$0] == nil }
        if !missing.isEmpty { throw .missingColumns(file: path, line: header.line, columns: missing) }
        let c = csvColumns.map { column[$0]! }
        let codeColumn = column[csvLLTCodeColumn]

        var builder = CandidateBuilder()
        var llts: [[LowestLevelTerm]] = []
        var lltLine: [[UInt8]: Int] = [:]
        var firstLine: [Int] = []
        var warned = Set<Int>()
        while let r = try nextRecord() {
            if isBlank(r) { report.blankLines += 1; continue }
            report.recordsRead += 1
            guard r.fields.count == names.count else {
                throw .malformedRow(file: path, line: r.line,
                                    problem: "expected \(names.count) fields as in the header, found \(r.fields.count)")
            }
            let f = c.map { r.fields[$0].trimmingPythonWhitespace }
            if f[0].isEmpty { throw .missingField(file: path, line: r.line, field: "pt_code") }
            if f[1].isEmpty { throw .missingField(file: path, line: r.line, field: "pt_name") }
            let i: Int
            if let existing = builder.index(of: f[0]) {
                i = existing
                let t = builder.terms[i]
                let first = [t.ptName, t.hltName, t.hlgtName, t.socName]
                let this = [f[1], f[3], f[4], f[5]]
                if let k = (0..<4).first(where: { !first[$0].utf8.elementsEqual(this[$0].utf8) }) {
                    report.conflictingRows += 1
                    if warned.insert(i).inserted {
                        let field = ["pt_name", "hlt_name", "hlgt_name", "soc_name"][k]
                        report.warnings.append(
                            "\(path):\(r.line): PT \(t.ptCode) (\(t.ptName)): \(field) \"\(this[k])\" differs from "
                            + "\"\(first[k])\" on line \(firstLine[i]); the first row wins")
                    }
                }
            } else {
                i = builder.add(PreferredTerm(ptCode: f[0], ptName: f[1], hltName: f[3], hlgtName: f[4], socName: f[5]))
                firstLine.append(r.line)
                llts.append([])
            }
            if let codeColumn {
                let code = r.fields[codeColumn].trimmingPythonWhitespace
                if code.isEmpty { throw .missingField(file: path, line: r.line, field: csvLLTCodeColumn) }
                if let first = lltLine[Array(code.utf8)] {
                    throw .invalidValue(file: path, line: r.line, field: csvLLTCodeColumn,
                                        problem: "LLT \(code) is listed twice (first on line \(first))")
                }
                lltLine[Array(code.utf8)] = r.line
                if !f[2].isEmpty {
                    llts[i].append(LowestLevelTerm(code: code, name: f[2], ptCode: builder.terms[i].ptCode))
                }
            }
            switch builder.addAlias(f[2], to: i) {
            case .added: break
            case .empty: report.emptyAliases += 1
            case .duplicate: report.duplicateAliases += 1
            }
        }
        if builder.terms.isEmpty { throw .empty(file: path) }
        return CandidateDictionary(terms: builder.terms, source: path, format: .csv, report: report,
                                   llts: codeColumn == nil ? nil : llts)
    }
}
