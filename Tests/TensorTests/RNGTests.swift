import XCTest
import Tensor
import TestSupport

final class RNGTests: XCTestCase {
    func testSameSeedSameNumbersBitForBit() {
        let a = RNGStream(seed: 42), b = RNGStream(seed: 42)
        var x = [Float](repeating: 0, count: 1000), y = x
        a.fillNormal(&x); b.fillNormal(&y)
        XCTAssertEqual(x.map(\.bitPattern), y.map(\.bitPattern), "seed 42")
    }

    func testChildStreamsDifferAndAreOrderFree() {
        let root = RNGStream(seed: 7)
        let first = root.child("init").uniform()
        _ = root.child("data").uniform()
        XCTAssertEqual(root.child("init").uniform(), first, "deriving a child must not advance the parent")
        XCTAssertNotEqual(root.child("init").uniform(), root.child("data").uniform())
        XCTAssertNotEqual(root.child(index: 0).uniform(), root.child(index: 1).uniform())
        // 1000 children by index: no two first draws coincide.
        let draws = Set((0..<1000).map { root.child(index: $0).uniform() })
        XCTAssertEqual(draws.count, 1000)
    }

    func testNormalMomentsWithinFiveSigma() {
        // N = 10^5 standard normals: the mean has sigma 1/sqrt(N) = 0.0032, the variance
        // sigma sqrt(2/N) = 0.0045; assert within 5 sigma.
        let rng = RNGStream(seed: 2026)
        var x = [Float](repeating: 0, count: 100_000)
        rng.fillNormal(&x)
        let n = Double(x.count)
        let mean = x.reduce(0.0) { $0 + Double($1) } / n
        let variance = x.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / (n - 1)
        XCTAssertLessThan(abs(mean), 5 / n.squareRoot(), "seed 2026")
        XCTAssertLessThan(abs(variance - 1), 5 * (2 / n).squareRoot(), "seed 2026")
    }

    func testPermutationIsAPermutation() {
        let p = RNGStream(seed: 3).permutation(100)
        XCTAssertEqual(p.sorted(), Array(0..<100))
        XCTAssertNotEqual(p, Array(0..<100))
    }
}
