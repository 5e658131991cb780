import Foundation
import Tensor

/// A power ramp in x times a constant in y on the box [xMin, xMax] x [yMin, yMax]:
/// p(x, y) = (k + 1) (x - xMin)^k / (Lx^(k+1) Ly), with Lx = xMax - xMin, Ly = yMax - yMin.
/// Sampled exactly by the inverse CDF: x = xMin + Lx u^(1/(k+1)), y = yMin + Ly v.
struct PowerRamp {
    let power: Int
    let x: ClosedRange<Double>, y: ClosedRange<Double>

    init(power: Int, x: ClosedRange<Double>, y: ClosedRange<Double>, toy: String) {
        precondition(x.upperBound > x.lowerBound && y.upperBound > y.lowerBound && x.lowerBound.isFinite
                     && x.upperBound.isFinite && y.lowerBound.isFinite && y.upperBound.isFinite,
                     "\(toy): expected finite non-empty ranges, got x \(x), y \(y)")
        self.power = power; self.x = x; self.y = y
    }

    var lx: Double { x.upperBound - x.lowerBound }
    var ly: Double { y.upperBound - y.lowerBound }

    func marginalX(_ u: Double) -> Double {
        guard x.contains(u) else { return 0 }
        return Double(power + 1) * pow(u - x.lowerBound, Double(power)) / pow(lx, Double(power + 1))
    }
    func marginalY(_ v: Double) -> Double { y.contains(v) ? 1 / ly : 0 }
    func density(_ u: Double, _ v: Double) -> Double { marginalX(u) * marginalY(v) }

    /// F(x) = ((x - xMin) / Lx)^(k+1), clamped to the support.
    func cdfX(_ u: Double) -> Double {
        pow(min(max((u - x.lowerBound) / lx, 0), 1), Double(power + 1))
    }

    func probability(_ bx: ClosedRange<Double>, _ by: ClosedRange<Double>) -> Double {
        let fy = max(0, min(by.upperBound, y.upperBound) - max(by.lowerBound, y.lowerBound)) / ly
        return (cdfX(bx.upperBound) - cdfX(bx.lowerBound)) * fy
    }

    func sample(into events: UnsafeMutableBufferPointer<Double>, rng: RNGStream) {
        precondition(events.count % 2 == 0, "ramp sample: expected an even buffer (N x 2), got \(events.count)")
        let x0 = x.lowerBound, y0 = y.lowerBound, lx = lx, ly = ly
        precondition(power == 1 || power == 2, "PowerRamp: powers 1 and 2 only")
        for i in 0..<events.count / 2 {
            let u = rng.uniform()
            events[2 * i] = x0 + lx * (power == 1 ? u.squareRoot() : cbrt(u))
            events[2 * i + 1] = y0 + ly * rng.uniform()
        }
    }
}

/// A toy that is a power ramp in x and flat in y: everything but its name and parameters comes
/// from the ramp (supports, density, marginals, exact sampler, closed-form bin probabilities).
protocol PowerRampToy: DensityToy {
    var ramp: PowerRamp { get }
}

extension PowerRampToy {
    public var xSupport: ClosedRange<Double> { ramp.x }
    public var ySupport: ClosedRange<Double> { ramp.y }
    public var window: (x: ClosedRange<Double>, y: ClosedRange<Double>) { (ramp.x, ramp.y) }
    public func density(x: Double, y: Double) -> Double { ramp.density(x, y) }
    public func marginalX(_ x: Double) -> Double { ramp.marginalX(x) }
    public func marginalY(_ y: Double) -> Double { ramp.marginalY(y) }
    public func sample(into events: UnsafeMutableBufferPointer<Double>, rng: RNGStream) { ramp.sample(into: events, rng: rng) }
    public func probability(x: ClosedRange<Double>, y: ClosedRange<Double>) -> Double { ramp.probability(x, y) }
}

/// The linear wedge ramp, eq. 6.17: p(x, y) = 2x on [0, 1]^2, generalised to
/// p(x, y) = 2 (x - xMin) / (Lx^2 Ly) on [xMin, xMax] x [yMin, yMax].
/// Its x marginal is the line p(x) = a x + b of eq. 6.21-6.22 with a = 2 / Lx^2, b = -a xMin.
public struct WedgeRamp: PowerRampToy {
    let ramp: PowerRamp

    public init(x: ClosedRange<Double> = 0...1, y: ClosedRange<Double> = 0...1) {
        ramp = PowerRamp(power: 1, x: x, y: y, toy: "wedge")
    }

    public var name: String { "wedge" }
    /// `a`, `b` (p(x) = a x + b), `xMin`, `xMax`, `yMin`, `yMax`.
    public var parameters: [String: Double] {
        let a = 2 / (ramp.lx * ramp.lx)
        return ["a": a, "b": -a * ramp.x.lowerBound, "xMin": ramp.x.lowerBound, "xMax": ramp.x.upperBound,
                "yMin": ramp.y.lowerBound, "yMax": ramp.y.upperBound]
    }
    // probability: closed form [F(x2) - F(x1)] (y2 - y1) / Ly with F(x) = ((x - xMin) / Lx)^2.
}

/// The quadratic kicker ramp, eq. 6.24: p(x, y) = 3x^2 on [0, 1]^2, generalised to
/// p(x, y) = 3 (x - x0)^2 / (Lx^3 Ly) on [x0, xMax] x [yMin, yMax] (eq. 6.25-6.26, x0 = xMin).
public struct KickerRamp: PowerRampToy {
    let ramp: PowerRamp

    public init(x: ClosedRange<Double> = 0...1, y: ClosedRange<Double> = 0...1) {
        ramp = PowerRamp(power: 2, x: x, y: y, toy: "kicker")
    }

    public var name: String { "kicker" }
    /// `a` (p(x) = a (x - x0)^2), `x0`, `xMin` (= x0), `xMax`, `yMin`, `yMax`.
    public var parameters: [String: Double] {
        ["a": 3 / (ramp.lx * ramp.lx * ramp.lx), "x0": ramp.x.lowerBound, "xMin": ramp.x.lowerBound,
         "xMax": ramp.x.upperBound, "yMin": ramp.y.lowerBound, "yMax": ramp.y.upperBound]
    }
    // probability: closed form [F(x2) - F(x1)] (y2 - y1) / Ly with F(x) = ((x - x0) / Lx)^3.
}
