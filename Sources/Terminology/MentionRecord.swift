import Foundation

/// One mention read from an input file (`--input`, docs/PIPELINE.md §Data
/// formats): its id, its text and the gold labels the file carries, if any.
public struct MentionRecord: Sendable, Equatable {
    public var id: String
    public var text: String
    public var goldPTCodes: [String]
    public var goldSOCCodes: [String]
    /// Whether the line carried `gold_pt_codes` (then pairs get a `label`).
    public var hasGold: Bool

    public init(id: String, text: String, goldPTCodes: [String] = [], goldSOCCodes: [String] = [],
                hasGold: Bool = false) {
        self.id = id
        self.text = text
        self.goldPTCodes = goldPTCodes
        self.goldSOCCodes = goldSOCCodes
        self.hasGold = hasGold
    }

    /// Parses a JSONL line that is either a pair/prediction line (it has
    /// `candidate_pt_name` or `candidate_pt_code`) or a mention line
    /// (`mention_id` + `text_a`/`raw_term`, optional gold fields).
    public init(jsonLine: some StringProtocol, lineNumber: Int) throws(PairRecordError) {
        let object = try JSONFields.parseObject(jsonLine, line: lineNumber)
        let fields = JSONFields(object: object, line: lineNumber)
        if object["candidate_pt_name"] != nil || object["candidate_pt_code"] != nil {
            let record = try PairRecord(fields: fields)
            self.init(id: record.mentionID, text: record.mention, goldPTCodes: record.goldPTCodes,
                      goldSOCCodes: record.goldSOCCodes)
        } else {
            self.init(id: try fields.identifier("mention_id"), text: try fields.mentionText(),
                      goldPTCodes: try fields.identifiers("gold_pt_codes"),
                      goldSOCCodes: try fields.identifiers("gold_soc_codes"))
        }
        hasGold = object["gold_pt_codes"] != nil && !(object["gold_pt_codes"] is NSNull)
    }
}
