import CGSL

/// Adaptive Monte Carlo integration over the unit cube with GSL's VEGAS (Lepage, J. Comp. Phys.
/// 27 (1978) 192; `gsl_monte_vegas`).
///
/// Schedule: one warm-up run adapts the grid (its result is discarded); then runs of
/// `iterationsPerRun` iterations each on the kept grid, each run a fresh estimate, until the
/// run's iterations agree (chi^2 with iterationsPerRun - 1 degrees of freedom has upper-tail
/// probability >= `minimumChi2Probability`; for 5 iterations and 0.01: chi^2/dof <= 3.3) and, if
/// `relativeError` is set, its error is at most that fraction of |value|; the next run's calls
/// grow as (error / target)^2 when the precision is short. At most `maximumRuns` runs: the last
/// one is returned with `converged == false`.
///
/// The error is VEGAS' own: the weighted combination of the iterations of the returned run. It is
/// trustworthy only when chi^2/dof is near 1 (the iterations agree within their errors). A window
/// |chi^2/dof - 1| <= 0.5 (GSL's example) rejects half of all consistent 5-iteration runs, since
/// chi^2/dof then has a spread of 0.71: the tail probability is the criterion here.
public enum Vegas {
    public struct Schedule {
        public var warmUpCalls: Int, callsPerIteration: Int, iterationsPerRun: Int
        public var maximumRuns: Int, minimumChi2Probability: Double
        /// Stop only once error <= relativeError |value| (nil: no precision requirement).
        public var relativeError: Double?
        public init(warmUpCalls: Int = 10_000, callsPerIteration: Int = 10_000, iterationsPerRun: Int = 5,
                    maximumRuns: Int = 6, minimumChi2Probability: Double = 0.01, relativeError: Double? = nil) {
            self.warmUpCalls = warmUpCalls; self.callsPerIteration = callsPerIteration; self.iterationsPerRun = iterationsPerRun
            self.maximumRuns = maximumRuns; self.minimumChi2Probability = minimumChi2Probability; self.relativeError = relativeError
        }
    }

    /// The estimate, its error, the chi^2/dof of the returned run's iterations, and the number of
    /// integrand evaluations spent in total (warm-up and rejected runs included).
    public struct Result {
        public let value: Double, error: Double, chi2PerDof: Double
        public let evaluations: Int, runs: Int, converged: Bool
    }

    private final class Box {
        let f: (UnsafePointer<Double>) -> Double
        var evaluations = 0
        init(_ f: @escaping (UnsafePointer<Double>) -> Double) { self.f = f }
    }

    /// The integral of f over [0, 1]^dimension. f must be finite everywhere VEGAS may sample,
    /// the faces of the cube included (a point may have a coordinate exactly 0).
    public static func integrate(dimension: Int, schedule: Schedule = Schedule(), _ rng: RNGStream,
                                 _ f: (UnsafePointer<Double>) -> Double) -> Result {
        precondition(dimension > 0, "VEGAS dimension must be positive, got \(dimension)")
        return withoutActuallyEscaping(f) { escaping in
            let box = Box(escaping)
            guard let state = gsl_monte_vegas_alloc(dimension) else { fatalError("gsl_monte_vegas_alloc(\(dimension)) failed") }
            defer { gsl_monte_vegas_free(state) }
            var lower = [Double](repeating: 0, count: dimension), upper = [Double](repeating: 1, count: dimension)
            return withExtendedLifetime(box) {
                var function = gsl_monte_function(
                    f: { u, _, params in
                        let box = Unmanaged<Box>.fromOpaque(params!).takeUnretainedValue()
                        box.evaluations += 1
                        return box.f(u!)
                    },
                    dim: dimension, params: Unmanaged.passUnretained(box).toOpaque())
                var params = gsl_monte_vegas_params()
                gsl_monte_vegas_params_get(state, &params)
                var value = 0.0, error = 0.0
                params.stage = 0; params.iterations = 1
                gsl_monte_vegas_params_set(state, &params)
                gsl_monte_vegas_integrate(&function, &lower, &upper, dimension, schedule.warmUpCalls, rng.gsl, state, &value, &error)
                var calls = schedule.callsPerIteration
                var chi2 = Double.nan, runs = 0, converged = false
                while runs < schedule.maximumRuns {
                    // Keep the grid, discard the earlier results.
                    params.stage = 1; params.iterations = schedule.iterationsPerRun
                    gsl_monte_vegas_params_set(state, &params)
                    // GSL's `calls` is per iteration (rounded to whole boxes of at least 2 calls).
                    gsl_monte_vegas_integrate(&function, &lower, &upper, dimension, calls, rng.gsl, state, &value, &error)
                    runs += 1
                    chi2 = gsl_monte_vegas_chisq(state)
                    let dof = Double(max(1, schedule.iterationsPerRun - 1))
                    let agrees = gsl_cdf_chisq_Q(chi2 * dof, dof) >= schedule.minimumChi2Probability
                    let precise = schedule.relativeError.map { error <= $0 * abs(value) } ?? true
                    if agrees && precise { converged = true; break }
                    if let target = schedule.relativeError, !precise, value != 0 {
                        let ratio = error / (target * abs(value))
                        calls = min(Int(Double(calls) * min(ratio * ratio * 1.2, 16)), 4_000_000)
                    }
                }
                return Result(value: value, error: error, chi2PerDof: chi2, evaluations: box.evaluations, runs: runs, converged: converged)
            }
        }
    }
}
