import Testing
import Normalization
import Terminology

@Suite struct NormalizationDefaultsTests {
    @Test("defaults are the published ones: top_k 100, threshold 0.3, template full")
    func defaults() {
        #expect(NormalizationDefaults.topK == 100)
        #expect(NormalizationDefaults.threshold == 0.3)
        #expect(NormalizationDefaults.template == .full)
    }
}
