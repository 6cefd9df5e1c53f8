import Foundation
import Testing
import CrossEncoder

@Suite("activations")
struct ActivationTests {
    @Test("the vectorised erf is within 4e-7 (a few Float ulps) of the exact erf on [-6, 6]")
    func erfAccuracy() {
        var worst = 0.0
        for i in -6000...6000 {
            let x = Double(i) / 1000
            worst = max(worst, abs(Double(Activation.erf(Float(x))) - Foundation.erf(Double(Float(x)))))
        }
        #expect(worst <= 4e-7, "max |erf error| \(worst)")
        #expect(Activation.erf(100) == 1 && Activation.erf(-100) == -1)
    }
}
