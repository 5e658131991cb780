import XCTest
import Foundation
import Tensor
import TestSupport

/// Tensor kernels against naive Double references (Float32 round-off: rel 1e-5 for short sums).
final class KernelTests: XCTestCase {
    let rng = RNGStream(seed: 77)

    func naiveProduct(_ a: Tensor, _ b: Tensor, _ ta: Bool, _ tb: Bool) -> [Double] {
        let m = ta ? a.shape[1] : a.shape[0], k = ta ? a.shape[0] : a.shape[1], n = tb ? b.shape[0] : b.shape[1]
        var out = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { for l in 0..<k {
            out[i * n + j] += Double(ta ? a[l, i] : a[i, l]) * Double(tb ? b[j, l] : b[l, j])
        } } }
        return out
    }

    func testMatmulEveryTransposeAndAccumulate() {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = Tensor.normal(ta ? [7, 5] : [5, 7], rng: rng.child("a"))
            let b = Tensor.normal(tb ? [3, 7] : [7, 3], rng: rng.child("b"))
            let c = matmul(a, b, transposeA: ta, transposeB: tb)
            XCTAssertEqual(c.shape, [5, 3])
            assertAllClose(c.storage.map(Double.init), naiveProduct(a, b, ta, tb), rel: 1e-5, abs: 1e-5, "transposes \(ta) \(tb)")
            // beta = 1 accumulates onto the existing buffer.
            var acc = c
            matmul(a, b, transposeA: ta, transposeB: tb, into: &acc, alpha: 0.5, beta: 1)
            assertAllClose(acc.storage.map(Double.init), naiveProduct(a, b, ta, tb).map { 1.5 * $0 }, rel: 1e-5, abs: 1e-5)
        }
        BLAS.setThreads(2)
        XCTAssertEqual(BLAS.threads, 2)
    }

    func testBroadcastingArithmetic() {
        let m = Tensor(rows: [[1, 2, 3], [4, 5, 6]])
        XCTAssertEqual((m + Tensor(shape: [3], storage: [10, 20, 30])).storage, [11, 22, 33, 14, 25, 36])
        XCTAssertEqual((m * Tensor(shape: [1, 3], storage: [1, 0, -1])).storage, [1, 0, -3, 4, 0, -6])
        XCTAssertEqual((m - Tensor(shape: [2, 1], storage: [1, 2])).storage, [0, 1, 2, 2, 3, 4])
        XCTAssertEqual((Tensor(shape: [2, 1], storage: [12, 30]) / m).storage, [12, 6, 4, 7.5, 6, 5])
        XCTAssertEqual((m / Tensor(scalar: 2)).storage, [0.5, 1, 1.5, 2, 2.5, 3])
        XCTAssertEqual((2 - m).storage, [1, 0, -1, -2, -3, -4])
        XCTAssertNil(Broadcast.of([2, 3], [2, 2]))
    }

    func testStableFunctionsAtExtremes() {
        // e^-80 is still a normal Float (e^-100 would be subnormal, with reduced precision).
        let x = Tensor(shape: [4], storage: [-80, -20, 20, 80])
        let sp = softplus(x), sg = sigmoid(x)
        assertAllClose(sp.storage.map(Double.init), [Foundation.exp(-80.0), Foundation.log1p(Foundation.exp(-20.0)), 20 + Foundation.log1p(Foundation.exp(-20.0)), 80], rel: 1e-6)
        assertAllClose(sg.storage.map(Double.init), [Foundation.exp(-80.0), 1 / (1 + Foundation.exp(20.0)), 1 / (1 + Foundation.exp(-20.0)), 1], rel: 1e-6)
        let big = Tensor(rows: [[1000, 1000], [-1000, 0]])
        assertAllClose(logSumExp(big, axis: 1).storage.map(Double.init), [1000 + Foundation.log(2.0), 0], rel: 1e-6, abs: 1e-6)
        assertAllClose(logSumExp(big, axis: 0).storage.map(Double.init), [1000, 1000], rel: 1e-6)
        XCTAssertEqual(clamp(x, min: -1, max: 2).storage, [-1, -1, 2, 2])
        XCTAssertEqual(leakyRelu(x, slope: 0.1).storage, [-8, -2, 20, 80])
        XCTAssertEqual(elu(Tensor(scalar: 0), alpha: 1).storage, [0])
    }

    func testReductionsKeepTheReducedAxis() {
        let m = Tensor(rows: [[1, 2, 3], [4, 5, 6]])
        XCTAssertEqual(sum(m, axis: 0), Tensor(shape: [1, 3], storage: [5, 7, 9]))
        XCTAssertEqual(sum(m, axis: 1), Tensor(shape: [2, 1], storage: [6, 15]))
        XCTAssertEqual(mean(m, axis: 1), Tensor(shape: [2, 1], storage: [2, 5]))
        XCTAssertEqual(sum(m).storage, [21])
        XCTAssertEqual(mean(m).storage, [3.5])
        XCTAssertEqual(sumToShape(m, [3]).storage, [5, 7, 9])
        XCTAssertEqual(broadcast(Tensor(shape: [2, 1], storage: [1, 2]), to: [2, 3]).storage, [1, 1, 1, 2, 2, 2])
    }

    func testColumnOpsAreAdjointAndRoundTrip() {
        let m = Tensor.normal([4, 5], rng: rng.child("m"))
        let parts = split(m, sizes: [2, 0, 3])
        XCTAssertEqual(parts.map(\.shape), [[4, 2], [4, 0], [4, 3]])
        XCTAssertEqual(concat(parts, axis: 1), m)
        XCTAssertEqual(concat([m, m], axis: 0).shape, [8, 5])
        let perm = rng.child("perm").permutation(5)
        var inverse = [Int](repeating: 0, count: 5)
        for (j, p) in perm.enumerated() { inverse[p] = j }
        XCTAssertEqual(gatherColumns(gatherColumns(m, indices: perm), indices: inverse), m, "permutation \(perm)")
        // <gather(x), y> = <x, scatterAdd(y)> for a selection with repeats.
        let idx = [3, 3, 0], y = Tensor.normal([4, 3], rng: rng.child("y"))
        let lhs = zip(gatherColumns(m, indices: idx).storage, y.storage).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        let rhs = zip(m.storage, scatterAddColumns(y, indices: idx, columns: 5).storage).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        assertClose(lhs, rhs, rel: 1e-5)
        XCTAssertEqual(sliceColumns(padColumns(parts[2], start: 2, columns: 5), start: 2, count: 3), parts[2])
    }

    func testPairwiseSquaredDistances() {
        let x = Tensor.normal([6, 3], rng: rng.child("x")), y = Tensor.normal([4, 3], rng: rng.child("y"))
        let d = pairwiseSquaredDistances(x, y)
        XCTAssertEqual(d.shape, [6, 4])
        for i in 0..<6 { for j in 0..<4 {
            let r = (0..<3).reduce(0.0) { $0 + pow(Double(x[i, $1]) - Double(y[j, $1]), 2) }
            assertClose(Double(d[i, j]), r, rel: 1e-5, abs: 1e-5)
        } }
        XCTAssertTrue(pairwiseSquaredDistances(x, x).storage.allSatisfy { $0 >= 0 }, "clamped at zero")
    }

    func testFusedBackwardKernels() {
        let g = Tensor(shape: [4], storage: [1, 2, 3, 4]), x = Tensor(shape: [4], storage: [-1, 1, -0.2, 0.7])
        XCTAssertEqual(maskedScale(g, x, positive: 1, negative: 0.5).storage, [0.5, 2, 1.5, 4])
        XCTAssertEqual(rangeMask(g, x, low: -0.5, high: 0.5).storage, [0, 0, 3, 0])
        XCTAssertEqual(tanhBackward(g, x).storage, [0, 0, 3 * (1 - 0.04), 4 * (1 - 0.49)])
        XCTAssertEqual(repeatRows(Tensor(shape: [2], storage: [1, 2]), rows: 2).storage, [1, 2, 1, 2])
    }
}
