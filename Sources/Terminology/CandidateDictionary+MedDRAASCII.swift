import Foundation

extension CandidateDictionary {
    /// The files of a MedDRA ASCII folder that the loader reads (and so requires).
    /// `meddra_release.asc` is read when present. File names match case-insensitively.
    public static let medDRARequiredFiles = ["pt.asc", "llt.asc", "mdhier.asc", "hlt.asc", "hlgt.asc", "soc.asc"]

    /// Reads a MedDRA ASCII distribution folder (docs/PIPELINE.md §Candidates; field layouts in
    /// Demo/dictionary/README.md). One candidate per `pt.asc` line, in file order;
    /// HLT/HLGT/SOC from the PT's `mdhier.asc` row with `primary_soc_fg = Y`
    /// (names looked up by code in `hlt.asc`, `hlgt.asc`, `soc.asc`); aliases:
    /// the PT's `llt.asc` rows with `llt_currency = Y`, ordered by LLT code,
    /// except the LLT whose name equals the PT name. Every current LLT (the
    /// PT-named one included) is kept with its code for coding (`llts`), and
    /// non-current ones are known by code. Everything skipped is counted
    /// in the report.
    public static func loadMedDRAASCII(folder: String, encoding: SourceEncoding = .utf8) throws(TerminologyError)
        -> CandidateDictionary
    {
        let listing: [String]
        do {
            listing = try FileManager.default.contentsOfDirectory(atPath: folder)
        } catch {
            throw .unreadable(path: folder, reason: (error as NSError).localizedDescription)
        }
        var byLowercase: [String: String] = [:]
        for name in listing.sorted() where byLowercase[name.lowercased()] == nil {
            byLowercase[name.lowercased()] = (folder as NSString).appendingPathComponent(name)
        }
        for name in medDRARequiredFiles where byLowercase[name] == nil {
            throw .missingFile(folder: folder, name: name)
        }
        func file(_ name: String) throws(TerminologyError) -> DollarFile {
            try DollarFile(path: byLowercase[name]!, encoding: encoding)
        }
        var report = DictionaryLoadReport()

        func names(_ name: String, fields: Int, what: String) throws(TerminologyError) -> [[UInt8]: String] {
            let f = try file(name)
            var map: [[UInt8]: String] = [:]
            var firstLine: [[UInt8]: Int] = [:]
            for r in try f.records(fields: fields) {
                if r.fields[0].isEmpty { throw .missingField(file: f.path, line: r.line, field: "\(what)_code") }
                let key = Array(r.fields[0].utf8)
                if let first = firstLine[key] {
                    throw .invalidValue(file: f.path, line: r.line, field: "\(what)_code",
                                        problem: "\(r.fields[0]) is listed twice (first on line \(first))")
                }
                map[key] = r.fields[1]
                firstLine[key] = r.line
            }
            report.blankLines += f.blankLines
            return map
        }
        let socNames = try names("soc.asc", fields: 10, what: "soc")
        let hlgtNames = try names("hlgt.asc", fields: 9, what: "hlgt")
        let hltNames = try names("hlt.asc", fields: 9, what: "hlt")

        // pt.asc: the candidates and their order.
        let ptFile = try file("pt.asc")
        report.blankLines += ptFile.blankLines
        var builder = CandidateBuilder()
        var ptLine: [Int] = []
        for r in try ptFile.records(fields: 11) {
            let code = r.fields[0], name = r.fields[1]
            if code.isEmpty { throw .missingField(file: ptFile.path, line: r.line, field: "pt_code") }
            if name.isEmpty { throw .missingField(file: ptFile.path, line: r.line, field: "pt_name") }
            if let i = builder.index(of: code) {
                throw .invalidValue(file: ptFile.path, line: r.line, field: "pt_code",
                                    problem: "PT \(code) is listed twice (first on line \(ptLine[i]))")
            }
            _ = builder.add(PreferredTerm(ptCode: code, ptName: name))
            ptLine.append(r.line)
        }
        if builder.terms.isEmpty { throw .empty(file: ptFile.path) }

        // mdhier.asc: the primary-SOC path of every PT.
        let hier = try file("mdhier.asc")
        report.blankLines += hier.blankLines
        var primaryLine = [Int?](repeating: nil, count: builder.terms.count)
        for r in try hier.records(fields: 12) {
            let f = r.fields
            guard let i = builder.index(of: f[0]) else {
                throw .invalidValue(file: hier.path, line: r.line, field: "pt_code", problem: "PT \(f[0]) is not in pt.asc")
            }
            switch f[11] {
            case "Y":
                if let first = primaryLine[i] {
                    report.conflictingRows += 1
                    report.warnings.append("\(hier.path):\(r.line): PT \(f[0]) has a second primary path "
                                           + "(first on line \(first)); the first wins")
                    continue
                }
                func lookup(_ map: [[UInt8]: String], _ code: String, _ field: String, _ source: String)
                    throws(TerminologyError) -> String
                {
                    guard let name = map[Array(code.utf8)] else {
                        throw .invalidValue(file: hier.path, line: r.line, field: field,
                                            problem: "\(code) is not in \(source)")
                    }
                    return name
                }
                builder.terms[i].hltName = try lookup(hltNames, f[1], "hlt_code", "hlt.asc")
                builder.terms[i].hlgtName = try lookup(hlgtNames, f[2], "hlgt_code", "hlgt.asc")
                builder.terms[i].socName = try lookup(socNames, f[3], "soc_code", "soc.asc")
                builder.terms[i].socCode = f[3]
                primaryLine[i] = r.line
            case "N":
                report.secondaryPaths += 1
            default:
                throw .invalidValue(file: hier.path, line: r.line, field: "primary_soc_fg",
                                    problem: "expected Y or N, found \"\(f[11])\"")
            }
        }
        for (i, line) in primaryLine.enumerated() where line == nil {
            throw .noHierarchyPath(file: ptFile.path, line: ptLine[i], ptCode: builder.terms[i].ptCode)
        }

        // llt.asc: current aliases, ordered by LLT code.
        let lltFile = try file("llt.asc")
        report.blankLines += lltFile.blankLines
        var aliases = [[(code: String, name: String)]](repeating: [], count: builder.terms.count)
        var current = [[LowestLevelTerm]](repeating: [], count: builder.terms.count)
        var nonCurrent: [LowestLevelTerm] = []
        var lltLine: [[UInt8]: Int] = [:]
        for r in try lltFile.records(fields: 11) {
            report.recordsRead += 1
            let f = r.fields
            if f[0].isEmpty { throw .missingField(file: lltFile.path, line: r.line, field: "llt_code") }
            if let first = lltLine[Array(f[0].utf8)] {
                throw .invalidValue(file: lltFile.path, line: r.line, field: "llt_code",
                                    problem: "LLT \(f[0]) is listed twice (first on line \(first))")
            }
            lltLine[Array(f[0].utf8)] = r.line
            guard let i = builder.index(of: f[2]) else {
                throw .invalidValue(file: lltFile.path, line: r.line, field: "pt_code", problem: "PT \(f[2]) is not in pt.asc")
            }
            let llt = LowestLevelTerm(code: f[0], name: f[1].trimmingPythonWhitespace, ptCode: f[2], isCurrent: f[9] == "Y")
            switch f[9] {
            case "Y":
                if !llt.name.isEmpty { current[i].append(llt) }
                if f[1].utf8.elementsEqual(builder.terms[i].ptName.utf8) {
                    report.ptNamedLLTs += 1
                } else {
                    aliases[i].append((f[0], f[1]))
                }
            case "N":
                report.nonCurrentLLTs += 1
                nonCurrent.append(llt)
            default:
                throw .invalidValue(file: lltFile.path, line: r.line, field: "llt_currency",
                                    problem: "expected Y or N, found \"\(f[9])\"")
            }
        }
        for i in aliases.indices {
            for alias in aliases[i].sorted(by: { codeOrder($0.code, $1.code) }) {
                switch builder.addAlias(alias.name, to: i) {
                case .added: break
                case .empty: report.emptyAliases += 1
                case .duplicate: report.duplicateAliases += 1
                }
            }
        }

        var version: String? = nil
        if let releasePath = byLowercase["meddra_release.asc"] {
            let release = try DollarFile(path: releasePath, encoding: encoding)
            if let first = try release.records(fields: nil).first, !first.fields[0].isEmpty {
                version = first.fields[0]
            }
        }
        return CandidateDictionary(terms: builder.terms, source: folder, format: .medDRAASCII,
                                   medDRAVersion: version, report: report, llts: current, nonCurrentLLTs: nonCurrent)
    }

    /// Numeric order for all-digit codes (as MedDRA's are), byte order otherwise.
    static func codeOrder(_ a: String, _ b: String) -> Bool {
        let digits = { (s: String) in !s.isEmpty && s.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
        if digits(a) && digits(b) {
            let x = a.drop(while: { $0 == "0" }), y = b.drop(while: { $0 == "0" })
            if x.utf8.count != y.utf8.count { return x.utf8.count < y.utf8.count }
            return x.utf8.lexicographicallyPrecedes(y.utf8)
        }
        return a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}
