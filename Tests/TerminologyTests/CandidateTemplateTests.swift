import Testing
import Terminology

@Suite struct CandidateTemplateTests {
    @Test("template names are the published ones; full is the default")
    func names() {
        #expect(CandidateTemplate.allCases.map(\.rawValue) == ["full", "pt_only", "pt_llt"])
        #expect(CandidateTemplate(rawValue: "pt_llt") == .ptLLT)
        #expect(CandidateTemplate(rawValue: "PT_ONLY") == nil)
        #expect(CandidateTemplate.default == .full)
    }
}
