import CGSL
import Foundation
import Tensor

/// The Gaussian half-ring, eq. 6.28-6.30: in polar coordinates r ~ Gauss(mu, w) truncated to
/// r > 0 and phi uniform in [0, pi]; in Cartesian coordinates, with the Jacobian 1/r,
///
///     p(x, y) = Gauss(r; mu, w) / (pi r A),   r = sqrt(x^2 + y^2),  y >= 0,
///
/// where A = P(r > 0) = Phi(mu / w) normalises the truncation (gsl_cdf_ugaussian_P).
/// Along a ray the density peaks at r = (mu + sqrt(mu^2 - 4 w^2)) / 2 (2 + sqrt 3 = 3.73 for the thesis values).
public struct GaussianRing: DensityToy {
    public let mu: Double
    public let w: Double
    /// A = P(r > 0) for the untruncated Gaussian.
    public let acceptance: Double

    public init(mu: Double = 4, w: Double = 1) {
        precondition(mu.isFinite && w.isFinite && w > 0, "ring: expected finite mu and w > 0, got mu = \(mu), w = \(w)")
        self.mu = mu
        self.w = w
        acceptance = gsl_cdf_ugaussian_P(mu / w)
    }

    public var name: String { "ring" }
    /// `mu`, `w` (eq. 6.29), `phiMin` = 0, `phiMax` = pi, `acceptance` = P(r > 0).
    public var parameters: [String: Double] {
        ["mu": mu, "w": w, "phiMin": 0, "phiMax": Double.pi, "acceptance": acceptance]
    }
    public var xSupport: ClosedRange<Double> { -Double.infinity...Double.infinity }
    public var ySupport: ClosedRange<Double> { 0...Double.infinity }
    /// r < mu + 8 w: the radial tail beyond holds Q(8) = 6e-16.
    public var window: (x: ClosedRange<Double>, y: ClosedRange<Double>) {
        let reach = max(mu, 0) + 8 * w
        return (-reach...reach, 0...reach)
    }

    /// The radius of the maximum of p(x, y) along a ray: d/dr [Gauss(r) / r] = 0.
    public var peakRadius: Double { (mu + (mu * mu - 4 * w * w).squareRoot()) / 2 }

    /// The radial density Gauss(r) / A on r > 0.
    public func radialDensity(_ r: Double) -> Double {
        r > 0 ? gsl_ran_gaussian_pdf(r - mu, w) / acceptance : 0
    }

    public func density(x: Double, y: Double) -> Double {
        guard y >= 0 else { return 0 }
        let r = (x * x + y * y).squareRoot()
        return radialDensity(r) / (Double.pi * r)
    }

    /// p(x) = 1/(pi A) * integral_0^inf Gauss(|x| cosh t) dt (substituting y = |x| sinh t);
    /// log-divergent at x = 0 (returns +inf there).
    public func marginalX(_ x: Double) -> Double {
        let a = abs(x)
        guard a > 0 else { return .infinity }
        let reach = mu + 40 * w
        guard a < reach else { return 0 }
        let tMax = acosh(reach / a)
        return Quadrature.integrate(0, tMax, relative: 1e-12) { t in gsl_ran_gaussian_pdf(a * cosh(t) - mu, w) }
            / (Double.pi * acceptance)
    }

    /// p(y) = 2 p_x(y) for y > 0 (the half-ring is symmetric under x <-> y folded onto y >= 0).
    public func marginalY(_ y: Double) -> Double { y >= 0 ? 2 * marginalX(y) : 0 }

    /// Exact draws: r = mu + w Qinv(A u) with u uniform in (0, 1) (inverse CDF of the truncated
    /// Gaussian, no rejection), phi = pi v, then (x, y) = r (cos phi, sin phi).
    public func sample(into events: UnsafeMutableBufferPointer<Double>, rng: RNGStream) {
        precondition(events.count % 2 == 0, "ring sample: expected an even buffer (N x 2), got \(events.count)")
        let mu = mu, w = w, acceptance = acceptance, generator = rng.gsl
        for i in 0..<events.count / 2 {
            let r = mu + w * gsl_cdf_ugaussian_Qinv(acceptance * gsl_rng_uniform_pos(generator))
            let phi = Double.pi * gsl_rng_uniform(generator)
            events[2 * i] = r * cos(phi)
            events[2 * i + 1] = r * sin(phi)
        }
    }
}
