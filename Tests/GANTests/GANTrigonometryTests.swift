import XCTest
import Foundation
import TestSupport
@testable import GAN

/// ganCosine and ganHyperbolicCosine against Foundation in value and gradient. Float32 over
/// |x| <= 4 pi: the series error is < 1e-6 (see the doc comment), Float32 rounding through the
/// three doublings about 64 x 6e-8 ~ 4e-6; tolerance 2e-5 absolute.
final class GANTrigonometryTests: XCTestCase {
    let xs: [Float] = [-12.3, -7.1, -3.14159, -2.0, -0.7, 0, 0.001, 0.5, 1.5707963, 2.9, 4.4, 9.0, 12.5]

    func testCosineValueAndGradient() {
        let x = Variable(Tensor(shape: [xs.count, 1], storage: xs), requiresGrad: true)
        let c = ganCosine(x)
        let g = gradients(of: sum(c), withRespectTo: [x])[0].value
        for (i, v) in xs.enumerated() {
            assertClose(Double(c.value.storage[i]), Foundation.cos(Double(v)), rel: 0, abs: 2e-5)
            assertClose(Double(g.storage[i]), -Foundation.sin(Double(v)), rel: 0, abs: 2e-5)
        }
    }

    func testHyperbolicCosineValueAndGradient() {
        let x = Variable(Tensor(shape: [xs.count, 1], storage: xs.map { $0 / 4 }), requiresGrad: true)
        let c = ganHyperbolicCosine(x)
        let g = gradients(of: sum(c), withRespectTo: [x])[0].value
        for (i, v) in xs.map({ Double($0 / 4) }).enumerated() {
            assertClose(Double(c.value.storage[i]), Foundation.cosh(v), rel: 1e-5, abs: 1e-6)
            assertClose(Double(g.storage[i]), Foundation.sinh(v), rel: 1e-5, abs: 1e-6)
        }
    }
}
