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

@Suite("vectorised exp")
struct ExpTests {
    @Test("within 3 ulps (relative 4e-7) of exp on [-87, 88]; large negative inputs go to ~0")
    func expAccuracy() {
        var worst = 0.0
        for i in -8700...8800 {
            let x = Float(i) / 100
            let exact = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(Activation.exp(x)) - exact) / exact)
        }
        #expect(worst <= 4e-7, "max relative error \(worst)")
        #expect(Activation.exp(-1000) < 1e-37)
        #expect(Activation.exp(0) == 1)
    }
}
