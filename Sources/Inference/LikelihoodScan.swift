import CGSL
import Foundation
import Physics
import Tensor

/// The parameters theta a MEM scan measures.
public enum MEMParameter: String, CaseIterable, Codable {
    case wMass = "w_mass", angularB = "angular_b", wPrimeFraction = "wprime_fraction"

    /// The density at theta = `value`, all else from `base` (and the W' fraction `fraction` unless
    /// it is the parameter).
    public func density(_ value: Double, base: ZWParameters, fraction: Double = 0) throws -> ZWDensity {
        var p = base, f = fraction
        switch self {
        case .wMass: p.wMass = value
        case .angularB: p.angularB = value
        case .wPrimeFraction: f = value
        }
        return try ZWDensity(parameters: p, wPrimeFraction: f)
    }

    /// The value of the parameter in `base` / `fraction`.
    public func value(in base: ZWParameters, fraction: Double) -> Double {
        switch self {
        case .wMass: base.wMass
        case .angularB: base.angularB
        case .wPrimeFraction: fraction
        }
    }
}

/// P_sel(theta), the probability that an event of p(x_p | theta) is selected, by reweighting one
/// simulated sample at theta_ref: P_sel(theta) = (1/N) sum over selected i of p_theta(x_i) / p_ref(x_i).
/// The likelihood of a selected event is p(x_d | theta) / P_sel(theta).
public struct SelectionFraction {
    public let reference: ZWDensity
    public let trials: Int
    let points: [ZWDensity.PreparedPoint], logReference: [Double]

    /// Simulates `trials` events of `reference` through `detector` (no ISR, the zw selection).
    public init(reference: ZWDensity, detector: FastDetector, trials: Int, rng: RNGStream) {
        self.reference = reference; self.trials = trials
        let production = ZWProduction(parameters: reference.parameters)
        var points: [ZWDensity.PreparedPoint] = [], logReference: [Double] = []
        let draw = rng.child("production"), wPrime = rng.child("wprime")
        for _ in 0..<trials {
            let hard = production.generate(wPrime: wPrime.uniform() < reference.wPrimeFraction, draw)
            guard detector.selectTwoJetEvent(hard, draw) != nil else { continue }
            let x = ZWPartonCoordinates(hard)
            guard let point = reference.prepare(x) else { continue }
            points.append(point)
            logReference.append(reference.logDensity(point))
        }
        self.points = points; self.logReference = logReference
    }

    /// P_sel(theta) and its binomial-like standard error.
    public func fraction(_ density: ZWDensity) -> (value: Double, error: Double) {
        var sum = 0.0, sumSquares = 0.0
        for i in points.indices {
            let w = exp(density.logDensity(points[i]) - logReference[i])
            guard w.isFinite else { continue }
            sum += w; sumSquares += w * w
        }
        let n = Double(trials), mean = sum / n
        return (mean, (max(0, sumSquares / n - mean * mean) / n).squareRoot())
    }
}

/// A likelihood scan and its estimate: -2 log L on a grid, the minimum and the error from the
/// curvature (Delta(-2 log L) = 1).
public struct ScanResult: Codable, Equatable {
    public var parameter: String
    public var grid: [Double]
    public var minusTwoLogL: [Double]
    public var estimate: Double
    public var error: Double
    public var events: Int
    public var method: String
    /// Flow scans: the error of the estimate from the finite draws per event
    /// (`FlowLikelihood.monteCarloError`), to be added in quadrature to `error`.
    public var monteCarloError: Double? = nil

    public init(parameter: String, grid: [Double], minusTwoLogL: [Double], estimate: Double, error: Double, events: Int, method: String,
                monteCarloError: Double? = nil) {
        self.parameter = parameter; self.grid = grid; self.minusTwoLogL = minusTwoLogL; self.estimate = estimate; self.error = error
        self.events = events; self.method = method; self.monteCarloError = monteCarloError
    }

    /// sqrt(error^2 + monteCarloError^2).
    public var totalError: Double { (error * error + (monteCarloError ?? 0) * (monteCarloError ?? 0)).squareRoot() }
}

public enum LikelihoodScan {
    /// Minimises f on [low, high] by GSL's Brent minimiser starting from the grid point `guess`
    /// (f(guess) below both ends); returns the minimum and f'' there by a central difference of
    /// step h. nil if the bracket is not a bracket.
    public static func minimise(_ f: (Double) -> Double, low: Double, guess: Double, high: Double, step h: Double) -> (x: Double, curvature: Double)? {
        let fl = f(low), fg = f(guess), fh = f(high)
        guard fg < fl, fg < fh else { return nil }
        return withoutActuallyEscaping(f) { escapable -> (x: Double, curvature: Double)? in
            var fn = escapable
            return withUnsafeMutablePointer(to: &fn) { context -> (x: Double, curvature: Double)? in
                var function = gsl_function(function: { x, params in
                    params!.assumingMemoryBound(to: ((Double) -> Double).self).pointee(x)
                }, params: UnsafeMutableRawPointer(context))
                guard let minimizer = gsl_min_fminimizer_alloc(gsl_min_fminimizer_brent) else { return nil }
                defer { gsl_min_fminimizer_free(minimizer) }
                guard gsl_min_fminimizer_set_with_values(minimizer, &function, guess, fg, low, fl, high, fh) == GSL_SUCCESS else { return nil }
                for _ in 0..<100 {
                    guard gsl_min_fminimizer_iterate(minimizer) == GSL_SUCCESS else { return nil }
                    let a = gsl_min_fminimizer_x_lower(minimizer), b = gsl_min_fminimizer_x_upper(minimizer)
                    if gsl_min_test_interval(a, b, 1e-6 * h, 0) == GSL_SUCCESS { break }
                }
                let x = gsl_min_fminimizer_x_minimum(minimizer)
                return (x, (f(x + h) - 2 * f(x) + f(x - h)) / (h * h))
            }
        }
    }

    /// The estimate from a function -2 log L(theta) known everywhere (flow importance sampling
    /// with fixed draws): grid values, then Brent from the grid minimum; error = sqrt(2 / f'').
    /// `gridValues`: -2 log L on the grid when the caller has it already (not evaluated again).
    public static func scan(_ minusTwoLogL: (Double) -> Double, grid: [Double], gridValues: [Double]? = nil, parameter: MEMParameter,
                            events: Int, method: String) throws -> ScanResult {
        let values = gridValues ?? grid.map(minusTwoLogL)
        guard let best = values.indices.filter({ values[$0].isFinite }).min(by: { values[$0] < values[$1] }) else {
            throw ScanNotMeasured(RefoldError.value("-2 log L on the scan grid", expected: "a finite value somewhere", actual: "none"))
        }
        guard best > 0, best < grid.count - 1 else {
            throw ScanNotMeasured(RefoldError.value("minimum of -2 log L in \(parameter.rawValue)", expected: "inside the grid \(grid.first!)...\(grid.last!)",
                                                    actual: "at the edge \(grid[best])"))
        }
        let h = 0.25 * (grid[best + 1] - grid[best - 1])
        guard let (x, curvature) = minimise(minusTwoLogL, low: grid[best - 1], guess: grid[best], high: grid[best + 1], step: h),
              curvature > 0 else {
            throw ScanNotMeasured(RefoldError.value("curvature of -2 log L at the minimum", expected: "> 0", actual: "not positive"))
        }
        return ScanResult(parameter: parameter.rawValue, grid: grid, minusTwoLogL: values, estimate: x, error: (2 / curvature).squareRoot(),
                          events: events, method: method)
    }

    /// The estimate from grid values only (VEGAS, one integral per point): a parabola fitted by
    /// GSL weighted least squares to the points within Delta(-2 log L) < `window` of the minimum
    /// (at least the minimum and its two neighbours), with `pointErrors` on -2 log L.
    public static func parabola(grid: [Double], minusTwoLogL values: [Double], pointErrors: [Double], window: Double = 9) throws -> (estimate: Double, error: Double) {
        guard let best = values.indices.filter({ values[$0].isFinite }).min(by: { values[$0] < values[$1] }), best > 0, best < grid.count - 1 else {
            throw ScanNotMeasured(RefoldError.value("minimum of -2 log L", expected: "inside the grid", actual: "at its edge or nowhere"))
        }
        var rows = values.indices.filter { values[$0].isFinite && values[$0] - values[best] < window }
        for i in [best - 1, best, best + 1] where !rows.contains(i) { rows.append(i) }
        let n = rows.count, centre = grid[best]
        guard let x = gsl_matrix_alloc(n, 3), let y = gsl_vector_alloc(n), let w = gsl_vector_alloc(n), let c = gsl_vector_alloc(3),
              let cov = gsl_matrix_alloc(3, 3), let work = gsl_multifit_linear_alloc(n, 3) else {
            throw RefoldError.value("GSL allocation", expected: "success", actual: "failure")
        }
        defer { gsl_matrix_free(x); gsl_vector_free(y); gsl_vector_free(w); gsl_vector_free(c); gsl_matrix_free(cov); gsl_multifit_linear_free(work) }
        for (k, i) in rows.enumerated() {
            let t = grid[i] - centre
            gsl_matrix_set(x, k, 0, 1); gsl_matrix_set(x, k, 1, t); gsl_matrix_set(x, k, 2, t * t)
            gsl_vector_set(y, k, values[i])
            gsl_vector_set(w, k, 1 / max(pointErrors[i] * pointErrors[i], 1e-12))
        }
        var chi2 = 0.0
        gsl_multifit_wlinear(x, w, y, c, cov, &chi2, work)
        let b = gsl_vector_get(c, 1), a = gsl_vector_get(c, 2)
        guard a > 0 else { throw ScanNotMeasured(RefoldError.value("parabola curvature of -2 log L", expected: "> 0", actual: a)) }
        // -2 log L = c0 + b t + a t^2: minimum at -b / 2a, Delta = 1 at 1 / sqrt(a).
        return (centre - b / (2 * a), 1 / a.squareRoot())
    }
}

/// A scan that measured nothing: no finite -2 log L, its minimum at the grid's edge, or no positive
/// curvature there. A study counts such pseudo-experiments; any other error is a fault.
public struct ScanNotMeasured: Error, CustomStringConvertible {
    public let reason: RefoldError
    public init(_ reason: RefoldError) { self.reason = reason }
    public var description: String { reason.description }
}
