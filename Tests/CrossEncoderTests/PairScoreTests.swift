import CrossEncoder
import Testing

/// The [not_match, match] order of docs/PIPELINE.md §Scoring is settled in
/// one place, `PairScore`, whatever the model's label ids.
@Suite struct PairScoreTests {
    @Test("match label at id 1 (the published model) and at id 0 (a swapped config) read the same")
    func labelOrder() {
        let usual = PairScore(logits: [-1.5, 2.5], probabilities: [0.018, 0.982], matchIndex: 1)
        let swapped = PairScore(logits: [2.5, -1.5], probabilities: [0.982, 0.018], matchIndex: 0)
        for s in [usual, swapped] {
            #expect(s.matchLogit == 2.5 && s.notMatchLogit == -1.5)
            #expect(s.matchProbability == 0.982 && s.notMatchProbability == 0.018)
        }
        #expect(usual.notMatchIndex == 0 && swapped.notMatchIndex == 1)
    }
}
