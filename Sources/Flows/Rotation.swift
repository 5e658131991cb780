import CGSL

/// y = x Q with a fixed random orthogonal Q (Haar: QR of a Gaussian matrix with the signs of R's
/// diagonal fixed, GSL), log-det 0.
public final class Rotation: InvertibleTransform {
    /// Q [D, D] (a constant).
    public let matrix: Tensor

    public init(dimension: Int, rng: RNGStream) {
        precondition(dimension >= 1, "Rotation: expected dimension >= 1, got \(dimension)")
        let d = dimension
        let a = gsl_matrix_alloc(d, d)!, tau = gsl_vector_alloc(d)!, q = gsl_matrix_alloc(d, d)!, r = gsl_matrix_alloc(d, d)!
        defer { gsl_matrix_free(a); gsl_vector_free(tau); gsl_matrix_free(q); gsl_matrix_free(r) }
        for i in 0..<d { for j in 0..<d { gsl_matrix_set(a, i, j, rng.normal()) } }
        gsl_linalg_QR_decomp(a, tau)
        gsl_linalg_QR_unpack(a, tau, q, r)
        var values = [Float](repeating: 0, count: d * d)
        for j in 0..<d {
            let sign: Double = gsl_matrix_get(r, j, j) < 0 ? -1 : 1
            for i in 0..<d { values[i * d + j] = Float(sign * gsl_matrix_get(q, i, j)) }
        }
        matrix = Tensor(shape: [d, d], storage: values)
    }

    public var dimension: Int { matrix.rows }
    public var parameters: [(name: String, variable: Variable)] { [] }

    public func forward(_ x: Variable, condition: Variable?) -> (y: Variable, logDet: Variable) {
        checkInput("Rotation.forward", x, dimension: dimension)
        return (matmul(x, Variable(matrix)), zeroLogDet(rows: x.value.rows))
    }

    public func inverse(_ y: Variable, condition: Variable?) -> (x: Variable, logDet: Variable) {
        checkInput("Rotation.inverse", y, dimension: dimension)
        return (matmul(y, Variable(matrix), transposeB: true), zeroLogDet(rows: y.value.rows))
    }
}
