import CGSL
import Foundation
import Tensor

/// The result of a weighted least-squares fit.
public struct FitResult: Equatable, Sendable {
    public let parameters: [Double]
    /// sqrt of the covariance diagonal (absolute errors: the sigmas are taken as true, not
    /// rescaled by chi2/ndf).
    public let errors: [Double]
    /// (J^T W J)^-1 at the minimum, row-major p x p.
    public let covariance: [[Double]]
    /// sum_i ((y_i - f(x_i; p)) / sigma_i)^2 at the minimum.
    public let chi2: Double
    /// points - parameters.
    public let ndf: Int
    public let iterations: Int
    public var chi2PerNdf: Double { ndf > 0 ? chi2 / Double(ndf) : .nan }
}

/// Fits y(x; p) to points with errors by weighted nonlinear least squares: GSL
/// `gsl_multifit_nlinear` with the trust-region Levenberg-Marquardt method and a
/// finite-difference Jacobian. Used for the BINN uncertainty fits (thesis eq. 6.23, 6.27, 6.31).
public enum NonlinearFit {
    /// The data behind the C callback: residual f_i = model(x_i; p) - y_i.
    final class Problem {
        let x: [Double], y: [Double]
        let model: (Double, [Double]) -> Double
        init(x: [Double], y: [Double], model: @escaping (Double, [Double]) -> Double) {
            self.x = x; self.y = y; self.model = model
        }
    }

    /// - Parameters: `model(x, parameters)`, points `x`, `y`, errors `sigma` (all > 0),
    ///   starting `initial` parameters.
    public static func fit(x: [Double], y: [Double], sigma: [Double], initial: [Double],
                           maxIterations: Int = 200, tolerance: Double = 1e-10,
                           model: @escaping (_ x: Double, _ parameters: [Double]) -> Double) throws -> FitResult {
        let n = x.count, p = initial.count
        guard p >= 1 else { throw RefoldError.value("NonlinearFit initial", expected: "at least 1 parameter", actual: 0) }
        guard y.count == n, sigma.count == n else {
            throw RefoldError.value("NonlinearFit points", expected: "\(n) y and sigma values", actual: "\(y.count) y, \(sigma.count) sigma")
        }
        guard n >= p else { throw RefoldError.value("NonlinearFit points", expected: "at least \(p) (one per parameter)", actual: n) }
        if let bad = sigma.firstIndex(where: { !($0 > 0) || !$0.isFinite }) {
            throw RefoldError.value("NonlinearFit sigma[\(bad)]", expected: "a positive finite error", actual: sigma[bad])
        }

        let previousHandler = gsl_set_error_handler_off()
        defer { gsl_set_error_handler(previousHandler) }

        let problem = Problem(x: x, y: y, model: model)
        let context = Unmanaged.passRetained(problem)
        defer { context.release() }

        var fdf = gsl_multifit_nlinear_fdf()
        fdf.f = { parameters, context, residuals in
            let problem = Unmanaged<Problem>.fromOpaque(context!).takeUnretainedValue()
            let count = Int(parameters!.pointee.size)
            let values = (0..<count).map { gsl_vector_get(parameters, $0) }
            for (i, x) in problem.x.enumerated() {
                gsl_vector_set(residuals, i, problem.model(x, values) - problem.y[i])
            }
            return Int32(GSL_SUCCESS)
        }
        fdf.df = nil
        fdf.fvv = nil
        fdf.n = n
        fdf.p = p
        fdf.params = context.toOpaque()
        // GSL minimises sum_i w_i f_i^2 with w_i = 1 / sigma_i^2.

        var settings = gsl_multifit_nlinear_default_parameters()
        guard let workspace = gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &settings, n, p) else {
            throw RefoldError("NonlinearFit: cannot allocate the GSL workspace for \(n) points, \(p) parameters")
        }
        defer { gsl_multifit_nlinear_free(workspace) }
        let start = gsl_vector_alloc(p)!, weights = gsl_vector_alloc(n)!
        defer { gsl_vector_free(start); gsl_vector_free(weights) }
        for (i, value) in initial.enumerated() { gsl_vector_set(start, i, value) }
        for (i, s) in sigma.enumerated() { gsl_vector_set(weights, i, 1 / (s * s)) }

        var status = gsl_multifit_nlinear_winit(start, weights, &fdf, workspace)
        guard status == Int32(GSL_SUCCESS) else { throw RefoldError("NonlinearFit: initialisation failed: \(String(cString: gsl_strerror(status)))") }
        var info: Int32 = 0
        status = gsl_multifit_nlinear_driver(maxIterations, tolerance, tolerance, tolerance, nil, nil, &info, workspace)
        guard status == Int32(GSL_SUCCESS) else {
            throw RefoldError("NonlinearFit: \(String(cString: gsl_strerror(status))) after \(gsl_multifit_nlinear_niter(workspace)) iterations")
        }

        let solution = gsl_multifit_nlinear_position(workspace)!
        let residual = gsl_multifit_nlinear_residual(workspace)!
        let jacobian = gsl_multifit_nlinear_jac(workspace)!
        let covariance = gsl_matrix_alloc(p, p)!
        defer { gsl_matrix_free(covariance) }
        gsl_multifit_nlinear_covar(jacobian, 0.0, covariance)

        var chi2 = 0.0
        for i in 0..<n { chi2 += gsl_vector_get(residual, i) * gsl_vector_get(residual, i) }
        let parameters = (0..<p).map { gsl_vector_get(solution, $0) }
        let matrix = (0..<p).map { i in (0..<p).map { j in gsl_matrix_get(covariance, i, j) } }
        return FitResult(parameters: parameters, errors: (0..<p).map { matrix[$0][$0].squareRoot() },
                         covariance: matrix, chi2: chi2, ndf: n - p,
                         iterations: Int(gsl_multifit_nlinear_niter(workspace)))
    }
}
