import XCTest
import CGSL
import Flows
import TestSupport

/// One harness for every InvertibleTransform (zuko style): shape kept, round trip, log-det
/// symmetry, and the log-det against log|det J| of a central finite-difference Jacobian
/// assembled and factorised in Double (GSL LU).
///
/// Finite differences of a Float32 forward: with step h on O(1) inputs the truncation error of a
/// central difference is h^2/6 |g'''| ~ 2e-5 for h = 1e-2 (smooth subnets), and the round-off error
/// is ~ eps_f32 |y| / h ~ 6e-8 * 3 / 1e-2 ~ 2e-5 per Jacobian entry; through
/// log|det J| = tr log J this adds up to D * 1e-4 < 1e-3 for D <= 6, so 1e-2 absolute has a
/// margin of ten. ReLU subnets have kinks, where the difference quotient is off by up to the
/// slope change; they use h = 1e-3 (10x fewer kinks inside the stencil, round-off 2e-4).
struct TransformHarness {
    var rows = 6
    var step = 1e-2
    var logDetTolerance = 1e-2
    var roundTripTolerance: Float = 1e-5

    /// `volumeChanging`: the transform must show |log-det| > 0.1 on some event (so that the
    /// finite-difference comparison is not trivially 0 = 0).
    func check(_ t: any InvertibleTransform, conditionColumns: Int = 0, seed: UInt64, volumeChanging: Bool = true,
               file: StaticString = #filePath, line: UInt = #line) {
        let rng = RNGStream(seed: seed)
        let d = t.dimension
        let x = Tensor.normal([rows, d], rng: rng.child("x"))
        let c: Tensor? = conditionColumns > 0 ? Tensor.normal([rows, conditionColumns], rng: rng.child("c")) : nil
        let tag = "(\(type(of: t)), seed \(seed))"
        withNoGrad {
            let (y, logDet) = t.forward(Variable(x), condition: c.map { Variable($0) })
            XCTAssertEqual(y.shape, x.shape, "shape \(tag)", file: file, line: line)
            XCTAssertEqual(logDet.shape, [rows, 1], "log-det shape \(tag)", file: file, line: line)
            let (back, inverseLogDet) = t.inverse(y, condition: c.map { Variable($0) })
            XCTAssertEqual(back.shape, x.shape, "inverse shape \(tag)", file: file, line: line)
            let roundTrip = zip(back.value.storage, x.storage).map { Swift.abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(roundTrip, roundTripTolerance, "round trip \(tag)", file: file, line: line)
            if volumeChanging {
                XCTAssertGreaterThan(logDet.value.storage.map { Swift.abs($0) }.max()!, 0.1, "trivial log-det \(tag)", file: file, line: line)
            }
            for i in 0..<rows {
                let forwardLogDet = Double(logDet.value.storage[i])
                let sum = forwardLogDet + Double(inverseLogDet.value.storage[i])
                XCTAssertLessThanOrEqual(Swift.abs(sum), 1e-5 * max(1, Swift.abs(forwardLogDet)),
                                         "forward + inverse log-det, event \(i) \(tag)", file: file, line: line)
                let reference = finiteDifferenceLogDet(t, x: x, row: i, condition: c)
                assertClose(forwardLogDet, reference, rel: 0, abs: logDetTolerance,
                            "log-det vs finite differences, event \(i) \(tag)", file: file, line: line)
            }
        }
    }

    /// log|det J| at row `row` of x: 2D perturbed copies in one batch, J in Double, GSL LU.
    func finiteDifferenceLogDet(_ t: any InvertibleTransform, x: Tensor, row: Int, condition: Tensor?) -> Double {
        let d = x.columns
        var batch = Tensor(shape: [2 * d, d])
        for j in 0..<d {
            for k in 0..<d {
                batch[2 * j, k] = x[row, k]
                batch[2 * j + 1, k] = x[row, k]
            }
            batch[2 * j, j] += Float(step)
            batch[2 * j + 1, j] -= Float(step)
        }
        // The actual steps after rounding to Float32.
        let width = (0..<d).map { Double(batch[2 * $0, $0]) - Double(batch[2 * $0 + 1, $0]) }
        let conditionBatch = condition.map { c in
            Variable(Tensor(shape: [2 * d, c.columns], storage: (0..<(2 * d)).flatMap { _ in (0..<c.columns).map { c[row, $0] } }))
        }
        let y = t.forward(Variable(batch), condition: conditionBatch).y.value
        let matrix = gsl_matrix_alloc(d, d)!
        let permutation = gsl_permutation_alloc(d)!
        defer { gsl_matrix_free(matrix); gsl_permutation_free(permutation) }
        for a in 0..<d {
            for j in 0..<d {
                gsl_matrix_set(matrix, a, j, (Double(y[2 * j, a]) - Double(y[2 * j + 1, a])) / width[j])
            }
        }
        var sign: Int32 = 0
        gsl_linalg_LU_decomp(matrix, permutation, &sign)
        return gsl_linalg_LU_lndet(matrix)
    }
}

/// Adds N(0, std) to every parameter, so that identity-initialised blocks become non-trivial.
func perturb(_ module: Module, std: Float, rng: RNGStream) {
    for (i, p) in module.parameters.enumerated() {
        p.variable.value = p.variable.value + Tensor.normal(p.variable.shape, std: std, rng: rng.child(index: i))
    }
}
