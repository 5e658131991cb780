import CGSL
import Tensor

/// A GSL matrix owned by Swift (freed on deinit), for the LU and SVD calls.
final class GSLMatrix {
    let pointer: UnsafeMutablePointer<gsl_matrix>
    let rows: Int, columns: Int

    init(rows: Int, columns: Int, entries: [Double]? = nil) {
        GSLErrors.off()
        pointer = gsl_matrix_calloc(rows, columns)!
        self.rows = rows; self.columns = columns
        if let entries { for i in 0..<rows { for j in 0..<columns { self[i, j] = entries[i * columns + j] } } }
    }
    deinit { gsl_matrix_free(pointer) }

    subscript(i: Int, j: Int) -> Double {
        get { pointer.pointee.data[i * pointer.pointee.tda + j] }
        set { pointer.pointee.data[i * pointer.pointee.tda + j] = newValue }
    }
    var entries: [Double] { (0..<rows).flatMap { i in (0..<columns).map { self[i, $0] } } }
}

enum GSLErrors {
    /// GSL aborts on errors unless its handler is off; the linear algebra returns statuses instead.
    private static let handlerOff: Void = { _ = gsl_set_error_handler_off() }()
    static func off() { _ = handlerOff }
}

enum LinearAlgebra {
    /// Singular values of an m x n matrix (m >= n), descending, with U (m x n) and V (n x n): A = U diag(s) V^T (GSL Golub-Reinsch).
    static func svd(rows: Int, columns: Int, entries: [Double]) throws -> (u: [Double], s: [Double], v: [Double]) {
        guard rows >= columns else {
            throw RefoldError.value("SVD of the response", expected: "measured bins >= truth bins", actual: "\(rows) x \(columns)")
        }
        let a = GSLMatrix(rows: rows, columns: columns, entries: entries)
        let v = GSLMatrix(rows: columns, columns: columns)
        let s = gsl_vector_alloc(columns)!, work = gsl_vector_alloc(columns)!
        defer { gsl_vector_free(s); gsl_vector_free(work) }
        let status = gsl_linalg_SV_decomp(a.pointer, v.pointer, s, work)
        guard status == GSL_SUCCESS else { throw RefoldError("SVD failed: \(String(cString: gsl_strerror(status)))") }
        return (a.entries, (0..<columns).map { gsl_vector_get(s, $0) }, v.entries)
    }

    /// s_max / s_min (infinity for a singular matrix).
    static func conditionNumber(rows: Int, columns: Int, entries: [Double]) throws -> Double {
        let s = try svd(rows: rows, columns: columns, entries: entries).s
        return s.last! > 0 ? s.first! / s.last! : .infinity
    }

    /// The inverse of a square matrix by LU decomposition (GSL); throws if it is singular.
    static func inverse(_ n: Int, _ entries: [Double]) throws -> [Double] {
        let lu = GSLMatrix(rows: n, columns: n, entries: entries)
        let result = GSLMatrix(rows: n, columns: n)
        let permutation = gsl_permutation_alloc(n)!
        defer { gsl_permutation_free(permutation) }
        var sign: Int32 = 0
        gsl_linalg_LU_decomp(lu.pointer, permutation, &sign)
        guard gsl_linalg_LU_det(lu.pointer, sign) != 0,
              gsl_linalg_LU_invert(lu.pointer, permutation, result.pointer) == GSL_SUCCESS else {
            throw RefoldError.value("response matrix", expected: "an invertible matrix", actual: "a singular \(n) x \(n) matrix")
        }
        return result.entries
    }

    /// C = M diag(variance) M^T for an n x m matrix M (gsl_blas_dgemm).
    static func propagate(_ m: [Double], rows n: Int, columns: Int, variance: [Double]) -> [Double] {
        let scaled = GSLMatrix(rows: n, columns: columns, entries: m)
        for i in 0..<n { for k in 0..<columns { scaled[i, k] *= variance[k] } }
        let original = GSLMatrix(rows: n, columns: columns, entries: m)
        let product = GSLMatrix(rows: n, columns: n)
        gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1, scaled.pointer, original.pointer, 0, product.pointer)
        return product.entries
    }
}
