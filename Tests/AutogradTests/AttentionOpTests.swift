import XCTest
import Foundation
import Autograd
import TestSupport

/// The transformer ops (layer norm, GELU, masked softmax, per-head products, masked pooling):
/// forward values against Double references, gradients through `GradientCheck` (first and
/// second order; tolerances documented there).
final class AttentionOpTests: XCTestCase {
    let rng = RNGStream(seed: 15_2026)
    func x(_ shape: [Int], _ label: String, scale: Float = 1) -> Tensor {
        GradientCheck.input(shape, rng: rng.child(label), scale: scale)
    }

    /// Two events per row group, uneven counts, one event without tokens.
    let mask = TokenMask(counts: [3, 1, 0, 2], tokens: 3)

    // MARK: Layer norm

    func testLayerNormMatchesDoubleReference() {
        let input = x([4, 5], "ln"), gain = x([5], "gain"), bias = x([5], "bias")
        let y = layerNorm(Variable(input), gain: Variable(gain), bias: Variable(bias), epsilon: 1e-5).value
        for i in 0..<4 {
            let row = (0..<5).map { Double(input[i, $0]) }
            let mu = row.reduce(0, +) / 5
            let variance = row.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / 5
            for j in 0..<5 {
                let reference = (row[j] - mu) / (variance + 1e-5).squareRoot() * Double(gain.storage[j]) + Double(bias.storage[j])
                // Float32 round-off of a length-5 mean and variance: a few 1e-7 relative.
                assertClose(Double(y[i, j]), reference, rel: 1e-5, abs: 1e-6, "row \(i) column \(j)")
            }
        }
    }

    func testLayerNormGradients() {
        let inputs = [x([4, 5], "ln"), x([5], "gain"), x([5], "bias")]
        GradientCheck.check("layerNorm", inputs) { layerNorm($0[0], gain: $0[1], bias: $0[2]) }
        GradientCheck.checkSecondOrder("layerNorm", inputs) { layerNorm($0[0], gain: $0[1], bias: $0[2]) }
    }

    // MARK: GELU

    func testGeluIsExactErfForm() {
        // x Φ(x) at x = -2, -1, 0, 1, 2 (Φ from erf in Double).
        let y = gelu(Variable(Tensor(shape: [5], storage: [-2, -1, 0, 1, 2]))).value
        let reference = [-0.04550026389635842, -0.15865525393145707, 0, 0.8413447460685429, 1.9544997361036416]
        assertAllClose(y.storage.map(Double.init), reference, rel: 1e-6, abs: 1e-7)
        // The tanh approximation differs at x = 1 by 1.6e-4: this is not it.
        XCTAssertGreaterThan(Swift.abs(Double(y.storage[3]) - 0.8411919906082768), 1e-4)
    }

    /// x Φ(x) on a grid of [-6, 6] against Φ from erf in Double: the rational erf is within
    /// 3.3e-7 of erf, so |gelu - reference| <= 3.3e-7 |x| / 2 plus Float32 rounding of the product.
    func testGeluMatchesErfInDoubleOnAGrid() {
        let grid = (0...2400).map { Float(-6 + 0.005 * Double($0)) }
        let y = gelu(Variable(Tensor(shape: [grid.count], storage: grid))).value
        var worst = 0.0
        for (x, v) in zip(grid, y.storage) {
            let reference = Double(x) * 0.5 * (1 + Foundation.erf(Double(x) / 2.0.squareRoot()))
            let error = Swift.abs(Double(v) - reference)
            worst = max(worst, error)
            XCTAssertLessThanOrEqual(error, 2e-7 * Double(Swift.abs(x)) + 1.2e-7 * Swift.abs(reference) + 1e-9, "gelu(\(x))")
        }
        print("gelu: worst absolute error on [-6, 6] \(worst)")
    }

    func testGeluGradients() {
        let a = x([3, 4], "gelu", scale: 2.5)
        GradientCheck.check("gelu", [a]) { gelu($0[0]) }
        GradientCheck.checkSecondOrder("gelu", [a]) { gelu($0[0]) }
    }

    // MARK: Masked softmax

    func testMaskedSoftmaxZeroOnPaddingSumsToOneAndEmptyRowIsZero() {
        let scores = x([8, 3], "scores", scale: 3) // 2 rows per event
        let y = maskedSoftmax(Variable(scores), mask: mask).value
        for r in 0..<8 {
            let n = r / 2
            let keep = (0..<3).map { mask.valid[n * 3 + $0] }
            let m = (0..<3).filter { keep[$0] }.map { Double(scores[r, $0]) }.max()
            let e = (0..<3).map { keep[$0] ? Foundation.exp(Double(scores[r, $0]) - m!) : 0 }
            let total = e.reduce(0, +)
            for j in 0..<3 {
                XCTAssertFalse(y[r, j].isNaN, "row \(r) column \(j) is NaN")
                if !keep[j] { XCTAssertEqual(y[r, j], 0, "masked key, row \(r) column \(j)"); continue }
                assertClose(Double(y[r, j]), e[j] / total, rel: 1e-6, abs: 1e-7, "row \(r) column \(j)")
            }
        }
        XCTAssertEqual(Array(y.storage[12..<18]), [Float](repeating: 0, count: 6), "rows of the event without tokens")
    }

    func testMaskedSoftmaxGradients() {
        let scores = x([8, 3], "scores", scale: 2)
        GradientCheck.check("maskedSoftmax", [scores]) { maskedSoftmax($0[0], mask: self.mask) }
        GradientCheck.checkSecondOrder("maskedSoftmax", [scores]) { maskedSoftmax($0[0], mask: self.mask) }
        // The empty event's rows: value zero, gradient zero (no NaN from 0/0).
        let v = Variable(scores, requiresGrad: true)
        backward(sum(maskedSoftmax(v, mask: mask) * Variable(x([8, 3], "w"))))
        XCTAssertEqual(Array(v.grad!.storage[12..<18]), [Float](repeating: 0, count: 6))
    }

    // MARK: Per-head products

    /// S[n, h][i, j] = scale sum_c A[n*T + i, h*dk + c] B[n*T + j, h*dk + c] in Double.
    func referenceScores(_ a: Tensor, _ b: Tensor, heads: Int, tokens t: Int, scale: Double) -> [Double] {
        let d = a.columns, dk = d / heads, events = a.rows / t
        var s: [Double] = []
        for n in 0..<events { for h in 0..<heads { for i in 0..<t { for j in 0..<t {
            s.append(scale * (0..<dk).reduce(0.0) { $0 + Double(a[n * t + i, h * dk + $1]) * Double(b[n * t + j, h * dk + $1]) })
        } } } }
        return s
    }

    /// 2 events of 3 slots (direct loops) and 2 events of 33 slots (sgemm per block), 2 heads of width 2.
    func testHeadProductsMatchDoubleReference() {
        for t in [3, 33] {
            let a = x([2 * t, 4], "a\(t)"), b = x([2 * t, 4], "b\(t)")
            let s = headScores(a, b, heads: 2, tokens: t, scale: 0.7)
            XCTAssertEqual(s.shape, [4 * t, t])
            assertAllClose(s.storage.map(Double.init), referenceScores(a, b, heads: 2, tokens: t, scale: 0.7), rel: 1e-6, abs: 1e-6, "T = \(t)")
            let p = x([4 * t, t], "p\(t)"), v = x([2 * t, 4], "v\(t)")
            for transposeP in [false, true] {
                let o = headApply(p, v, heads: 2, transposeP: transposeP, scale: 1.5)
                for n in 0..<2 { for h in 0..<2 { for i in 0..<t { for c in 0..<2 {
                    let reference = 1.5 * (0..<t).reduce(0.0) { acc, j in
                        let weight = transposeP ? p[(n * 2 + h) * t + j, i] : p[(n * 2 + h) * t + i, j]
                        return acc + Double(weight) * Double(v[n * t + j, h * 2 + c])
                    }
                    // Sums of 33 products of size < 1: Float32 round-off below 1e-5.
                    assertClose(Double(o[n * t + i, h * 2 + c]), reference, rel: 1e-5, abs: 1e-5, "T = \(t), transposeP \(transposeP)")
                } } } }
            }
        }
    }

    func testHeadProductGradients() {
        let a = x([6, 4], "a"), b = x([6, 4], "b"), p = x([12, 3], "p")
        GradientCheck.check("headScores", [a, b]) { headScores($0[0], $0[1], heads: 2, tokens: 3, scale: 0.7) }
        GradientCheck.check("headApply", [p, a]) { headApply($0[0], $0[1], heads: 2) }
        GradientCheck.check("headApply P^T", [p, a]) { headApply($0[0], $0[1], heads: 2, transposeP: true, scale: 1.5) }
        GradientCheck.checkSecondOrder("headScores", [a, b]) { headScores($0[0], $0[1], heads: 2, tokens: 3, scale: 0.7) }
        GradientCheck.checkSecondOrder("headApply", [p, a]) { headApply($0[0], $0[1], heads: 2) }
    }

    func testMultiHeadAttentionGradientsWithPadding() {
        // 4 events of 3 slots (counts 3, 1, 0, 2), width 4, 2 heads.
        let q = x([12, 4], "q"), k = x([12, 4], "k"), v = x([12, 4], "v")
        GradientCheck.check("multiHeadAttention", [q, k, v]) {
            multiHeadAttention(query: $0[0], key: $0[1], value: $0[2], mask: self.mask, heads: 2)
        }
        GradientCheck.checkSecondOrder("multiHeadAttention", [q, k, v]) {
            multiHeadAttention(query: $0[0], key: $0[1], value: $0[2], mask: self.mask, heads: 2)
        }
    }

    // MARK: Masking and pooling

    func testMaskedMeanPoolAveragesRealTokensOnly() {
        var tokens = x([12, 2], "tokens")
        for i in 0..<12 where !mask.valid[i] { tokens.storage[2 * i] = .nan; tokens.storage[2 * i + 1] = .infinity }
        let pooled = maskedMeanPool(maskTokens(Variable(tokens), mask: mask), mask: mask).value
        XCTAssertEqual(pooled.shape, [4, 2])
        for n in 0..<4 { for j in 0..<2 {
            let real = (0..<3).filter { mask.valid[n * 3 + $0] }.map { Double(tokens[n * 3 + $0, j]) }
            let reference = real.isEmpty ? 0 : real.reduce(0, +) / Double(real.count)
            assertClose(Double(pooled[n, j]), reference, rel: 1e-6, abs: 1e-7, "event \(n) feature \(j)")
        } }
    }

    func testPoolingAndMaskingGradients() {
        let tokens = x([12, 2], "tokens"), pooled = x([4, 2], "pooled")
        GradientCheck.check("maskedMeanPool", [tokens]) { maskedMeanPool($0[0], mask: self.mask) }
        GradientCheck.check("spreadOverTokens", [pooled]) { spreadOverTokens($0[0], mask: self.mask) }
        GradientCheck.check("maskTokens", [tokens]) { maskTokens($0[0], mask: self.mask) }
        GradientCheck.checkSecondOrder("pool of squares", [tokens]) { maskedMeanPool(square($0[0]), mask: self.mask) }
    }
}
