import XCTest
import Autograd
import TestSupport

/// Behaviour of the tape itself: grad mode, accumulation, inputs, graph depth.
final class TapeTests: XCTestCase {
    struct Failure: Error {}

    func testNoGradRecordsNothingAndRestoresTheMode() {
        let w = Variable(Tensor.ones([2, 2]), requiresGrad: true)
        let y = withNoGrad { w * w }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertTrue(GradMode.isEnabled)
        XCTAssertThrowsError(try withNoGrad { () throws -> Void in throw Failure() })
        XCTAssertTrue(GradMode.isEnabled, "restored after a throw")
        XCTAssertTrue((w * w).requiresGrad)
        XCTAssertFalse((w.detached * 2).requiresGrad)
    }

    func testBackwardAccumulatesAcrossCallsAndZeroGradClears() {
        let w = Variable(Tensor(shape: [2], storage: [1, 2]), requiresGrad: true)
        backward(sum(square(w)))
        XCTAssertEqual(w.grad?.storage, [2, 4])
        backward(sum(square(w)))
        XCTAssertEqual(w.grad?.storage, [4, 8])
        let adam = Adam(named([w]))
        adam.zeroGrad()
        XCTAssertNil(w.grad)
    }

    func testGradientWithRespectToInputsLeavesParameterGradsAlone() {
        // D(x) = sum(x W^T) has dD/dx_i = column sums of W for every row i.
        let w = Variable(Tensor(rows: [[1, 2, 3], [4, 5, 6]]), requiresGrad: true)
        let x = Variable(Tensor.normal([4, 3], rng: RNGStream(seed: 1)), requiresGrad: true)
        let unused = Variable(Tensor.ones([3]), requiresGrad: true)
        let d = sum(linear(x, w, nil))
        let grads = gradients(of: d, withRespectTo: [x, unused])
        XCTAssertEqual(grads[0].value.storage, Array(repeating: [5, 7, 9], count: 4).flatMap { $0 })
        XCTAssertEqual(grads[1].value.storage, [0, 0, 0], "an input the output does not depend on")
        XCTAssertFalse(grads[0].requiresGrad, "first order: no graph")
        XCTAssertNil(w.grad)
        XCTAssertNil(x.grad)
        backward(d)
        XCTAssertEqual(x.grad?.storage, grads[0].value.storage, "backward fills inputs made with requiresGrad")
    }

    func testDeepGraphsDoNotExhaustTheStack() {
        let x = Variable(Tensor(scalar: 0), requiresGrad: true)
        var y = x
        for _ in 0..<20_000 { y = y * 1.0001 }
        backward(y)
        assertClose(Double(x.grad!.scalar), pow(1.0001, 20_000), rel: 1e-3)
    }
}
