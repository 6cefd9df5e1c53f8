import Foundation

/// One line of pair / prediction JSONL (docs/PIPELINE.md §Data formats): a
/// (mention, candidate PT) pair with its gold labels and, in predictions,
/// the model's outputs. Field names on disk are snake_case as listed there.
public struct PairRecord: Sendable, Equatable {
    public var mentionID: String
    /// The mention (`text_a`, or `raw_term` in older files).
    public var mention: String
    public var candidatePTCode: String
    public var candidatePTName: String
    public var candidateLLTNames: [String]
    public var candidateHLTName: String
    public var candidateHLGTName: String
    public var candidateSOCName: String
    public var goldPTCodes: [String]
    public var goldSOCCodes: [String]
    /// 1 when the candidate is one of the gold PTs; nil when the input has no label.
    public var label: Int?
    public var prediction: Prediction?

    /// Model outputs of a prediction line.
    public struct Prediction: Sendable, Equatable {
        public var prob1: Double
        public var predLabel: Int
        public var logit0: Double?
        public var logit1: Double?
        public var prob0: Double?
        /// The LLT a matched candidate (pred_label 1) is coded with; written
        /// as `llt` after `pred_label`, never read back.
        public var llt: CodedLLT?

        public init(prob1: Double, predLabel: Int, logit0: Double? = nil, logit1: Double? = nil, prob0: Double? = nil,
                    llt: CodedLLT? = nil) {
            self.llt = llt
            self.prob1 = prob1
            self.predLabel = predLabel
            self.logit0 = logit0
            self.logit1 = logit1
            self.prob0 = prob0
        }
    }

    public init(mentionID: String, mention: String, candidate: PreferredTerm,
                goldPTCodes: [String] = [], goldSOCCodes: [String] = [], label: Int? = nil,
                prediction: Prediction? = nil) {
        self.mentionID = mentionID
        self.mention = mention
        self.candidatePTCode = candidate.ptCode
        self.candidatePTName = candidate.ptName
        self.candidateLLTNames = candidate.lltNames
        self.candidateHLTName = candidate.hltName
        self.candidateHLGTName = candidate.hlgtName
        self.candidateSOCName = candidate.socName
        self.goldPTCodes = goldPTCodes
        self.goldSOCCodes = goldSOCCodes
        self.label = label
        self.prediction = prediction
    }

    /// The candidate as a term (no SOC code: pair files do not carry one).
    public var candidate: PreferredTerm {
        PreferredTerm(ptCode: candidatePTCode, ptName: candidatePTName, lltNames: candidateLLTNames,
                      hltName: candidateHLTName, hlgtName: candidateHLGTName, socName: candidateSOCName)
    }
}

/// Why a JSONL line could not be read. `line` is 1-based; `path` is set
/// when the line came from a file.
public struct PairRecordError: Error, CustomStringConvertible, Equatable {
    public var path: String?
    public var line: Int
    public var problem: String
    public init(path: String? = nil, line: Int, problem: String) {
        self.path = path
        self.line = line
        self.problem = problem
    }
    public var description: String {
        let place = line > 0 ? "line \(line)" : ""
        return [path, place.isEmpty ? nil : place].compactMap { $0 }.joined(separator: ":")
            + (path == nil && place.isEmpty ? "" : ": ") + problem
    }
}

/// Every bad line of a pair / prediction JSONL file (a file that cannot be
/// opened is one error at line 0; each line that does not decode is one error).
public struct PairFileError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var errors: [PairRecordError]

    public var description: String {
        let shown = errors.prefix(20).map(\.description).joined(separator: "\n")
        let more = errors.count > 20 ? "\n… and \(errors.count - 20) more bad lines" : ""
        return shown + more
    }
}

extension PairRecord {
    /// Every record of a pair / prediction JSONL file in `encoding`, with
    /// its line number. Blank lines are skipped; every bad line is reported,
    /// not only the first (a line that does not decode included).
    public static func readFile(_ path: String, encoding: SourceEncoding = .utf8)
        throws(PairFileError) -> [(line: Int, record: PairRecord)] {
        let reader: TextLineReader
        do { reader = try TextLineReader(path: path, encoding: encoding) } catch {
            throw PairFileError(path: path, errors: [PairRecordError(path: path, line: 0, problem: error.problem)])
        }
        var out: [(line: Int, record: PairRecord)] = []
        var errors: [PairRecordError] = []
        while let result = reader.readLine() {
            let line: TextLineReader.Line
            switch result {
            case .success(let l): line = l
            case .failure(let failure):
                if case .undecodable(_, let number, _) = failure {
                    errors.append(PairRecordError(path: path, line: number, problem: failure.problem))
                }
                continue
            }
            if line.text.allSatisfy(\.isWhitespace) { continue }
            do {
                out.append((line.number, try PairRecord(jsonLine: line.text, lineNumber: line.number)))
            } catch {
                var e = error
                e.path = path
                errors.append(e)
            }
        }
        if !errors.isEmpty { throw PairFileError(path: path, errors: errors) }
        return out
    }
}

extension PairRecord {
    /// Parses one JSONL line. `text_a` wins over `raw_term` when both are
    /// present; `mention_id` may be a string or an integer; absent optional
    /// fields read as empty. Required: `mention_id`, `text_a`/`raw_term`,
    /// `candidate_pt_name`.
    public init(jsonLine: some StringProtocol, lineNumber: Int) throws(PairRecordError) {
        try self.init(fields: JSONFields(object: JSONFields.parseObject(jsonLine, line: lineNumber), line: lineNumber))
    }

    init(fields: JSONFields) throws(PairRecordError) {
        mentionID = try fields.identifier("mention_id")
        mention = try fields.mentionText()
        candidatePTCode = try fields.identifier("candidate_pt_code", required: false)
        candidatePTName = try fields.string("candidate_pt_name", required: true)
        candidateLLTNames = try fields.strings("candidate_llt_names")
        candidateHLTName = try fields.string("candidate_hlt_name")
        candidateHLGTName = try fields.string("candidate_hlgt_name")
        candidateSOCName = try fields.string("candidate_soc_name")
        goldPTCodes = try fields.identifiers("gold_pt_codes")
        goldSOCCodes = try fields.identifiers("gold_soc_codes")
        label = try fields.binary("label")
        if let prob1 = try fields.number("prob_1") {
            let predLabel = try fields.binary("pred_label") ?? (prob1 >= 0.5 ? 1 : 0)
            prediction = Prediction(prob1: prob1, predLabel: predLabel, logit0: try fields.number("logit_0"),
                                    logit1: try fields.number("logit_1"), prob0: try fields.number("prob_0"))
        } else {
            prediction = nil
        }
    }

    /// The JSONL line (no newline) in the field order of docs/PIPELINE.md
    /// §Data formats. Non-ASCII text
    /// is written as UTF-8, not escaped.
    public func jsonLine() -> String {
        var fields: [(String, JSONValue)] = [
            ("mention_id", .string(mentionID)), ("text_a", .string(mention)),
            ("candidate_pt_code", .string(candidatePTCode)), ("candidate_pt_name", .string(candidatePTName)),
            ("candidate_llt_names", .strings(candidateLLTNames)), ("candidate_hlt_name", .string(candidateHLTName)),
            ("candidate_hlgt_name", .string(candidateHLGTName)), ("candidate_soc_name", .string(candidateSOCName)),
            ("gold_pt_codes", .strings(goldPTCodes)), ("gold_soc_codes", .strings(goldSOCCodes)),
        ]
        if let label { fields.append(("label", .integer(label))) }
        if let p = prediction {
            if let v = p.logit0 { fields.append(("logit_0", .number(v))) }
            if let v = p.logit1 { fields.append(("logit_1", .number(v))) }
            if let v = p.prob0 { fields.append(("prob_0", .number(v))) }
            fields.append(("prob_1", .number(p.prob1)))
            fields.append(("pred_label", .integer(p.predLabel)))
            if let l = p.llt {
                fields.append(("llt", .object([("llt_code", .string(l.code)), ("llt_name", .string(l.name)),
                                               ("how", .string(l.how.rawValue))])))
            }
        }
        return JSONValue.object(fields).text()
    }
}
