import Foundation
import XCTest
import Autograd
import TestSupport

/// sin, cos, cosh, sinh: values and first and second derivatives against the analytic ones
/// computed in Double (Float32 values: relative tolerance 1e-5).
final class TrigonometricTests: XCTestCase {
    let points: [Float] = [-3.0, -1.2, -0.3, 0, 0.4, 1.5, 2.9]

    func check(_ name: String, _ op: (Variable) -> Variable, value: (Double) -> Double,
               first: (Double) -> Double, second: (Double) -> Double) {
        let x = Variable(Tensor(shape: [points.count, 1], storage: points), requiresGrad: true)
        let y = op(x)
        let g = gradients(of: sum(y), withRespectTo: [x], createGraph: true)[0]
        let h = gradients(of: sum(g), withRespectTo: [x])[0]
        for (i, p) in points.enumerated() {
            let d = Double(p)
            assertClose(Double(y.value.storage[i]), value(d), rel: 1e-5, abs: 1e-6, "\(name)(\(p))")
            assertClose(Double(g.value.storage[i]), first(d), rel: 1e-5, abs: 1e-6, "\(name)'(\(p))")
            assertClose(Double(h.value.storage[i]), second(d), rel: 1e-5, abs: 1e-6, "\(name)''(\(p))")
        }
    }

    func testSinCosCoshSinhValuesAndDerivatives() {
        check("sin", sin, value: Foundation.sin, first: Foundation.cos, second: { -Foundation.sin($0) })
        check("cos", cos, value: Foundation.cos, first: { -Foundation.sin($0) }, second: { -Foundation.cos($0) })
        check("cosh", cosh, value: Foundation.cosh, first: Foundation.sinh, second: Foundation.cosh)
        check("sinh", sinh, value: Foundation.sinh, first: Foundation.cosh, second: Foundation.sinh)
    }

    /// The massless-parton mass m^2 = 2 pT1 pT2 (cosh(d eta) - cos(d phi)): gradient in d phi
    /// against the analytic 2 pT1 pT2 sin(d phi).
    func testMasslessMassGradient() {
        let dPhi = Variable(Tensor(shape: [1, 1], storage: [1.1]), requiresGrad: true)
        let dEta: Float = 0.7, pt1: Float = 40, pt2: Float = 30
        let m2 = (cos(dPhi) * -1 + Foundation.cosh(dEta)) * (2 * pt1 * pt2)
        backward(sum(m2))
        assertClose(Double(dPhi.grad!.storage[0]), 2 * 40 * 30 * Foundation.sin(1.1), rel: 1e-5)
        assertClose(Double(m2.value.storage[0]), 2 * 40 * 30 * (Foundation.cosh(0.7) - Foundation.cos(1.1)), rel: 1e-5)
    }
}
