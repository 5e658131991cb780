import XCTest
import Foundation
import NN
import TestSupport

final class MLPTests: XCTestCase {
    /// f(x) = sin(x1) + x2 x3 - x4^2 on [-1, 1]^4 (variance about 0.47).
    func target(_ x: Tensor) -> Tensor {
        Tensor(shape: [x.rows, 1]) { out in
            for i in 0..<x.rows { out[i] = Foundation.sin(x[i, 0]) + x[i, 1] * x[i, 2] - x[i, 3] * x[i, 3] }
        }
    }

    func testLearnsSmoothFunctionOfFourInputs() {
        let seed: UInt64 = 31
        let rng = RNGStream(seed: seed)
        let model = MLP(sizes: [4, 64, 64, 1], activation: .tanh, initializer: .xavierUniform, rng: rng.child("init"))
        let adam = Adam(model.parameters, learningRate: 3e-3)
        adam.schedule = CosineLR(initial: 3e-3, totalSteps: 1500, minimum: 1e-4)
        let data = rng.child("data")
        for _ in 0..<1500 {
            let x = Tensor.uniform([128, 4], low: -1, high: 1, rng: data)
            let loss = mean(square(model(Variable(x)) - Variable(target(x))))
            adam.zeroGrad()
            backward(loss)
            adam.step()
        }
        let test = Tensor.uniform([4096, 4], low: -1, high: 1, rng: rng.child("test"))
        let mse = withNoGrad { mean(square(model(Variable(test)) - Variable(target(test)))).scalar }
        // 1e-3 is 0.2 % of the target's variance; this seed reaches 5.6e-4.
        XCTAssertLessThan(mse, 1e-3, "held-out MSE, seed \(seed)")
    }

    func testSameSeedSameInitBitForBitAndChildStreamsDiffer() {
        let a = MLP(sizes: [12, 32, 32, 12], rng: RNGStream(seed: 7).child("init"))
        let b = MLP(sizes: [12, 32, 32, 12], rng: RNGStream(seed: 7).child("init"))
        let c = MLP(sizes: [12, 32, 32, 12], rng: RNGStream(seed: 7).child("other"))
        for (p, q) in zip(a.parameters, b.parameters) {
            XCTAssertEqual(p.variable.value.storage.map(\.bitPattern), q.variable.value.storage.map(\.bitPattern), p.name)
        }
        XCTAssertNotEqual(a.layers[0].weight.value, c.layers[0].weight.value, "child streams 'init' and 'other' (seed 7)")
        XCTAssertNotEqual(Array(a.layers[1].weight.value.storage.prefix(32)), Array(a.layers[2].weight.value.storage.prefix(32)),
                          "layers draw from different child streams")
        // Same seed, same training step: identical bytes.
        func step(_ m: MLP) -> [UInt32] {
            let x = Variable(Tensor.normal([16, 12], rng: RNGStream(seed: 3)))
            let opt = Adam(m.parameters)
            backward(mean(square(m(x))))
            opt.step()
            return m.parameters.flatMap { $0.variable.value.storage.map(\.bitPattern) }
        }
        XCTAssertEqual(step(a), step(b))
    }

    func testParameterNamesShapesAndForward() {
        let mlp = MLP(sizes: [3, 5, 2], activation: .relu, rng: RNGStream(seed: 1))
        XCTAssertEqual(mlp.parameters.map(\.name), ["layer0.weight", "layer0.bias", "layer1.weight", "layer1.bias"])
        XCTAssertEqual(mlp.parameters.map(\.variable.shape), [[5, 3], [5], [2, 5], [2]])
        XCTAssertEqual(mlp.parameterCount, 15 + 5 + 10 + 2)
        let dense = mlp.layers[0]
        dense.bias.value = Tensor(shape: [5], storage: [0.1, -0.2, 0.3, 0, 0.5])
        let x = Tensor.normal([4, 3], rng: RNGStream(seed: 2))
        let y = dense(Variable(x)).value
        for i in 0..<4 { for j in 0..<5 {
            var r = Double(dense.bias.value.storage[j])
            for k in 0..<3 { r += Double(x[i, k]) * Double(dense.weight.value[j, k]) }
            assertClose(Double(y[i, j]), r, rel: 1e-5, abs: 1e-6)
        } }
    }

    func testInitializerBoundsAndSpread() {
        // 256 x 256 uniform draws: the variance b^2/3 has relative sigma sqrt(0.8/N) = 0.35 %; assert 5 sigma.
        let fanIn = 256
        for (initializer, bound) in [(Initializer.kaimingUniform, (6.0 / Double(fanIn)).squareRoot()),
                                     (.xavierUniform, (6.0 / Double(2 * fanIn)).squareRoot())] {
            let w = initializer.weight(outputs: 256, inputs: fanIn, rng: RNGStream(seed: 9))
            XCTAssertTrue(w.storage.allSatisfy { Double(Swift.abs($0)) <= bound })
            let variance = w.storage.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(w.count)
            assertClose(variance, bound * bound / 3, rel: 5 * (0.8 / Double(w.count)).squareRoot(), "\(initializer)")
        }
        XCTAssertTrue(Initializer.zeros.weight(outputs: 2, inputs: 3, rng: RNGStream(seed: 1)).storage.allSatisfy { $0 == 0 })
    }

    func testActivationsMatchTheirFunctions() {
        let x = Variable(Tensor(shape: [1, 4], storage: [-2, -0.5, 0.5, 2]))
        XCTAssertEqual(Activation.relu(x).value.storage, [0, 0, 0.5, 2])
        XCTAssertEqual(Activation.leakyRelu(x).value.storage, [-0.02, -0.005, 0.5, 2])
        XCTAssertEqual(Activation.identity(x).value.storage, x.value.storage)
        assertClose(Double(Activation.elu(x).value.storage[0]), Foundation.expm1(-2.0), rel: 1e-6)
        assertClose(Double(Activation.softplus(x).value.storage[3]), Foundation.log1p(Foundation.exp(2.0)), rel: 1e-6)
        assertClose(Double(Activation.sigmoid(x).value.storage[2]), 1 / (1 + Foundation.exp(-0.5)), rel: 1e-6)
        assertClose(Double(Activation.tanh(x).value.storage[1]), Foundation.tanh(-0.5), rel: 1e-6)
    }
}
