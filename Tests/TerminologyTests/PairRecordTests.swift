import Testing
import Terminology

@Suite struct PairRecordTests {
    @Test("reads pair lines (docs/PIPELINE.md §Data formats): raw_term alias, integer ids, predictions")
    func reads() throws {
        let line = #"{"mention_id": 17, "raw_term": "吃完药后头晕", "candidate_pt_code": 90000001, "candidate_pt_name": "头晕", "candidate_llt_names": ["头昏"], "candidate_hlt_name": "h", "candidate_hlgt_name": "g", "candidate_soc_name": "s", "gold_pt_codes": ["90000001"], "gold_soc_codes": [], "label": 1, "prob_1": 0.75}"#
        let r = try PairRecord(jsonLine: line, lineNumber: 3)
        #expect(r.mentionID == "17" && r.mention == "吃完药后头晕" && r.candidatePTCode == "90000001")
        #expect(r.candidateLLTNames == ["头昏"] && r.goldPTCodes == ["90000001"] && r.label == 1)
        #expect(r.prediction?.prob1 == 0.75 && r.prediction?.predLabel == 1)
    }

    @Test("round-trips through jsonLine")
    func roundTrip() throws {
        let r = PairRecord(mentionID: "m\"1", mention: "头晕\n恶心\u{1}", candidate: PreferredTerm(ptCode: "9", ptName: "恶心", lltNames: ["想吐"]),
                           goldPTCodes: ["9"], label: 1,
                           prediction: .init(prob1: 0.1, predLabel: 0, logit0: 1.5, logit1: -0.5, prob0: 0.9))
        #expect(try PairRecord(jsonLine: r.jsonLine(), lineNumber: 1) == r)
    }

    @Test("errors name the line and the field")
    func errors() {
        #expect(throws: PairRecordError(line: 5, problem: "missing required field text_a (or raw_term)")) {
            try PairRecord(jsonLine: #"{"mention_id": "a", "candidate_pt_name": "x"}"#, lineNumber: 5)
        }
        #expect(throws: PairRecordError(line: 2, problem: "field label: expected 0 or 1, got 2")) {
            try PairRecord(jsonLine: #"{"mention_id": "a", "text_a": "t", "candidate_pt_name": "x", "label": 2}"#, lineNumber: 2)
        }
        #expect(throws: PairRecordError(line: 9, problem: "field candidate_llt_names: expected a list of strings")) {
            try PairRecord(jsonLine: #"{"mention_id": "a", "text_a": "t", "candidate_pt_name": "x", "candidate_llt_names": "y"}"#, lineNumber: 9)
        }
        #expect(throws: PairRecordError.self) { try PairRecord(jsonLine: "{not json", lineNumber: 1) }
        #expect(throws: PairRecordError(line: 4, problem: "field mention_id: expected a string or an integer")) {
            try PairRecord(jsonLine: #"{"mention_id": true, "text_a": "t", "candidate_pt_name": "x"}"#, lineNumber: 4)
        }
    }
}
