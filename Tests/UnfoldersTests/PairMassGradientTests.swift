import XCTest
import Autograd
import Physics
@testable import Unfolders
import Tensor
import TestSupport

/// The differentiable pair mass of the observable MMD (`UnfoldingModel.observables`, m_jj and
/// m_ll from standardised network features) through the shared `GradientCheck`: massless quarks
/// and leptons at parton level, massive jets at detector level.
///
/// m is a few hundred GeV, so its Float32 round-off is ~1e-4 GeV per event; the five-point stencil
/// weighs it by 18 / 12h = 50 (h = 3e-2): 5e-3 GeV per unit feature. Its truncation
/// h^4 |m^(5)| / 30 ~ 3e-8 m is negligible. Tolerance 2e-2 + 1e-3 |fd| against gradients of
/// ~10^2 GeV per standardised unit. No input is near a kink: log pT is far inside the clamp
/// [-5, 10], |Delta eta| < 8 and m^2 > 0.
final class PairMassGradientTests: XCTestCase {
    func check(_ block: EventSample.Block, _ names: [String], seed: UInt64, file: StaticString = #filePath, line: UInt = #line) throws {
        let map = try FeatureMap.fit(block)
        let observables = UnfoldingModel.observables(names, map: map)
        XCTAssertEqual(observables.map(\.name), names, file: file, line: line)
        let x = try map.tensor(block.rows(0..<6))
        for observable in observables {
            GradientCheck.check("\(observable.name) (seed \(seed))", [x], seed: seed, step: 3e-2, stencil: .fivePoint,
                                rel: 1e-3, abs: 2e-2, file: file, line: line) { observable.compute($0[0]) }
        }
    }

    func testMasslessPartonPairs() throws {
        let sample = try generateColliderSample(ColliderConfiguration(process: .zw), events: 200, rng: RNGStream(seed: 81))
        try check(sample.parton!, ["m_jj", "m_ll"], seed: 81)
    }

    func testMassiveDetectorJets() throws {
        let sample = try generateColliderSample(ColliderConfiguration(process: .zw), events: 200, rng: RNGStream(seed: 82))
        try check(sample.detector!, ["m_jj", "m_ll"], seed: 82)
    }
}
