import Tensor

/// A two-dimensional density toy of the BINN study (thesis section 6.3): an exact seeded
/// sampler, the analytic density p(x, y), its marginals and the shape parameters that the
/// uncertainty fits of eq. 6.23, 6.27 and 6.31 refer to.
///
/// Events are flat N x 2 row-major arrays: `[x0, y0, x1, y1, ...]`.
public protocol DensityToy {
    /// The generator name written to `meta.json` ("wedge", "kicker", "ring").
    var name: String { get }
    /// Shape parameters (slope and range for the ramps, mu and w for the ring).
    var parameters: [String: Double] { get }
    /// The support in x and y (may be unbounded: the ring's radial tail).
    var xSupport: ClosedRange<Double> { get }
    var ySupport: ClosedRange<Double> { get }
    /// A finite box holding all but a negligible fraction (< 1e-12) of the probability: for histograms.
    var window: (x: ClosedRange<Double>, y: ClosedRange<Double>) { get }

    /// p(x, y), normalised to one over the support; zero outside.
    func density(x: Double, y: Double) -> Double
    /// p(x) = integral of p(x, y) dy.
    func marginalX(_ x: Double) -> Double
    /// p(y) = integral of p(x, y) dx.
    func marginalY(_ y: Double) -> Double

    /// Fills `events` (count = 2 N, interleaved x, y) with N independent exact draws.
    func sample(into events: UnsafeMutableBufferPointer<Double>, rng: RNGStream)

    /// P(x in `x`, y in `y`): the integral of the density over a box (a histogram bin).
    func probability(x: ClosedRange<Double>, y: ClosedRange<Double>) -> Double
}

extension DensityToy {
    /// N exact draws as a flat N x 2 row-major array.
    public func sample(n: Int, rng: RNGStream) -> [Double] {
        precondition(n >= 0, "\(name).sample: expected n >= 0, got \(n)")
        return [Double](unsafeUninitializedCapacity: 2 * n) { buffer, initialised in
            sample(into: buffer, rng: rng)
            initialised = 2 * n
        }
    }

    /// Default: nested adaptive GSL integration (QAGS) of the density over the box.
    public func probability(x: ClosedRange<Double>, y: ClosedRange<Double>) -> Double {
        let xs = x.clamped(to: xSupport), ys = y.clamped(to: ySupport)
        guard xs.upperBound > xs.lowerBound, ys.upperBound > ys.lowerBound else { return 0 }
        return Quadrature.integrate(xs.lowerBound, xs.upperBound, relative: 1e-10) { u in
            Quadrature.integrate(ys.lowerBound, ys.upperBound, relative: 1e-11) { v in density(x: u, y: v) }
        }
    }
}

/// The built-in density toys, by the name the CLI and the study specs use.
public enum DensityToyKind: String, CaseIterable, Sendable {
    case wedge, kicker, ring

    /// The toy with the thesis' parameters (eq. 6.17, 6.24, 6.28).
    public func standardToy() -> any DensityToy {
        switch self {
        case .wedge: return WedgeRamp()
        case .kicker: return KickerRamp()
        case .ring: return GaussianRing()
        }
    }
}
