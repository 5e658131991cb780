import XCTest
import Autograd
import TestSupport

/// Every differentiable op through the one harness (see GradientCheck for the tolerance).
final class OpGradientTests: XCTestCase {
    let rng = RNGStream(seed: 20260)
    func x(_ shape: [Int], _ label: String, positive: Bool = false, avoid: [Float] = [0]) -> Tensor {
        GradientCheck.input(shape, rng: rng.child(label), positive: positive, avoid: avoid)
    }

    func testMatmulAllTransposes() {
        GradientCheck.check("matmul", [x([3, 4], "a"), x([4, 5], "b")]) { matmul($0[0], $0[1]) }
        GradientCheck.check("matmul A^T", [x([4, 3], "a"), x([4, 5], "b")]) { matmul($0[0], $0[1], transposeA: true) }
        GradientCheck.check("matmul B^T", [x([3, 4], "a"), x([5, 4], "b")]) { matmul($0[0], $0[1], transposeB: true) }
        GradientCheck.check("matmul A^T B^T", [x([4, 3], "a"), x([5, 4], "b")]) {
            matmul($0[0], $0[1], transposeA: true, transposeB: true)
        }
    }

    func testLinear() {
        GradientCheck.check("linear", [x([3, 4], "x"), x([5, 4], "w"), x([5], "b")]) { linear($0[0], $0[1], $0[2]) }
        GradientCheck.check("linear without bias", [x([3, 4], "x"), x([5, 4], "w")]) { linear($0[0], $0[1], nil) }
        for slope: Float in [0, 0.2] {
            GradientCheck.check("linearLeakyRelu \(slope)", [x([3, 4], "x"), x([5, 4], "w"), x([5], "b")]) {
                linearLeakyRelu($0[0], $0[1], $0[2], slope: slope)
            }
        }
    }

    func testBinaryOpsWithEveryBroadcast() {
        let full = x([3, 4], "full", positive: true)
        let partners: [(String, Tensor)] = [
            ("same", x([3, 4], "same", positive: true)), ("row [C]", x([4], "row", positive: true)),
            ("row [1,C]", x([1, 4], "row1", positive: true)), ("column", x([3, 1], "col", positive: true)),
            ("scalar", x([1], "scalar", positive: true)),
        ]
        for (label, other) in partners {
            GradientCheck.check("+ \(label)", [full, other]) { $0[0] + $0[1] }
            GradientCheck.check("- \(label)", [full, other]) { $0[0] - $0[1] }
            GradientCheck.check("* \(label)", [full, other]) { $0[0] * $0[1] }
            GradientCheck.check("/ \(label)", [full, other]) { $0[0] / $0[1] }
            GradientCheck.check("- \(label) (small side first)", [other, full]) { $0[0] - $0[1] }
            GradientCheck.check("/ \(label) (small side first)", [other, full]) { $0[0] / $0[1] }
        }
    }

    func testScalarOps() {
        let a = x([3, 4], "a", positive: true)
        GradientCheck.check("x + s", [a]) { $0[0] + 2 }
        GradientCheck.check("s - x", [a]) { 2 - $0[0] }
        GradientCheck.check("s * x", [a]) { 3 * $0[0] }
        GradientCheck.check("x / s", [a]) { $0[0] / 4 }
        GradientCheck.check("s / x", [a]) { 2 / $0[0] }
        GradientCheck.check("-x", [a]) { -$0[0] }
        GradientCheck.check("affine", [a]) { affine($0[0], scale: -1.5, shift: 0.5) }
    }

    func testUnaryFunctions() {
        let a = x([3, 4], "a"), p = x([3, 4], "p", positive: true)
        GradientCheck.check("exp", [a]) { exp($0[0]) }
        GradientCheck.check("log", [p]) { log($0[0]) }
        GradientCheck.check("tanh", [a]) { tanh($0[0]) }
        GradientCheck.check("atan", [a]) { atan($0[0]) }
        GradientCheck.check("sigmoid", [a]) { sigmoid($0[0]) }
        GradientCheck.check("softplus", [a]) { softplus($0[0]) }
        GradientCheck.check("relu", [a]) { relu($0[0]) }
        GradientCheck.check("leakyRelu", [a]) { leakyRelu($0[0], slope: 0.2) }
        GradientCheck.check("elu", [a]) { elu($0[0], alpha: 0.7) }
        GradientCheck.check("square", [a]) { square($0[0]) }
        GradientCheck.check("sqrt", [p]) { sqrt($0[0]) }
        GradientCheck.check("abs", [a]) { abs($0[0]) }
        let c = x([3, 4], "c", avoid: [-0.5, 0.5])
        GradientCheck.check("clamp", [c]) { clamp($0[0], min: -0.5, max: 0.5) }
    }

    func testReductions() {
        let a = x([3, 4], "a")
        for axis in [0, 1] {
            GradientCheck.check("sum axis \(axis)", [a]) { sum($0[0], axis: axis) }
            GradientCheck.check("mean axis \(axis)", [a]) { mean($0[0], axis: axis) }
            GradientCheck.check("logSumExp axis \(axis)", [a]) { logSumExp($0[0], axis: axis) }
        }
        let vector = x([5], "vector")
        for axis in [0, 1] {
            GradientCheck.check("mean of a vector, axis \(axis)", [vector]) { mean($0[0], axis: axis) }
            GradientCheck.check("sum of a vector, axis \(axis)", [vector]) { sum($0[0], axis: axis) }
        }
        GradientCheck.check("vector + matrix", [vector, x([3, 5], "m")]) { $0[0] + $0[1] }
        GradientCheck.check("sum", [a]) { sum($0[0]) }
        GradientCheck.check("mean", [a]) { mean($0[0]) }
    }

    func testShapeAndColumnOps() {
        let a = x([3, 4], "a"), b = x([3, 2], "b"), r = x([2, 4], "r")
        GradientCheck.check("concat axis 1", [a, b]) { concat([$0[0], $0[1]], axis: 1) }
        GradientCheck.check("concat axis 0", [a, r]) { concat([$0[0], $0[1]], axis: 0) }
        GradientCheck.check("split", [a]) { v in
            let parts = split(v[0], sizes: [1, 3])
            return concat([square(parts[1]), parts[0]], axis: 1)
        }
        GradientCheck.check("sliceRows", [a]) { sliceRows($0[0], start: 1, count: 1) }
        GradientCheck.check("gatherColumns (permutation)", [a]) { gatherColumns($0[0], indices: [2, 0, 3, 1]) }
        GradientCheck.check("gatherColumns (repeats)", [a]) { gatherColumns($0[0], indices: [1, 1, 3]) }
        GradientCheck.check("scatterAddColumns", [a]) { scatterAddColumns($0[0], indices: [4, 0, 4, 2], columns: 5) }
        GradientCheck.check("reshape", [a]) { reshape($0[0], [2, 6]) }
        GradientCheck.check("transpose", [a]) { transpose($0[0]) }
        GradientCheck.check("broadcast", [x([1, 4], "row")]) { broadcast($0[0], to: [3, 4]) }
        GradientCheck.check("sumToShape", [a]) { sumToShape($0[0], [3, 1]) }
    }

    func testPairwiseSquaredDistances() {
        GradientCheck.check("pairwiseSquaredDistances", [x([3, 2], "x"), x([4, 2], "y")]) {
            pairwiseSquaredDistances($0[0], $0[1])
        }
    }

    func testFusedBackwardKernels() {
        let g = x([3, 4], "g"), a = x([3, 4], "a")
        let y = tanh(a), s = sigmoid(a)
        GradientCheck.check("tanhBackward", [g, y]) { tanhBackward($0[0], $0[1]) }
        GradientCheck.check("sigmoidBackward", [g, s]) { sigmoidBackward($0[0], $0[1]) }
        GradientCheck.check("maskedScale", [g, a]) { maskedScale($0[0], $0[1], positive: 1, negative: 0.3) }
        GradientCheck.check("rangeMask", [g, x([3, 4], "c", avoid: [-0.5, 0.5])]) { rangeMask($0[0], $0[1], low: -0.5, high: 0.5) }
    }

    func testComposedNetworkWithSharedInput() {
        // x used twice: the two contributions accumulate.
        GradientCheck.check("shared input", [x([4, 3], "x"), x([5, 3], "w"), x([5], "b")]) { v in
            let h = tanh(linear(v[0], v[1], v[2]))
            return concat([h, v[0] * v[0]], axis: 1)
        }
    }
}
