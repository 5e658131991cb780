import Foundation
import Tensor

/// The one-dimensional toy of GAN event subtraction (arXiv:1912.08824, sec. 3; talk 002):
/// P_B(x) = 1/x + 0.1 and P_S(x) = 1/x on [low, high] (default [1, 100]), so that
/// P_{B-S}(x) = 0.1, flat. The densities are unnormalised cross sections per unit x; `crossSection`
/// is their integral over the range, `density` the normalised shape.
public struct SubtractionToy: Sendable, Equatable {
    public enum Component: String, CaseIterable, Sendable {
        case background = "b", subtract = "s", difference = "b-s"
    }

    public let low: Double, high: Double
    /// The constant of P_B (0.1 in the seed).
    public let offset: Double

    public init(low: Double = 1, high: Double = 100, offset: Double = 0.1) throws {
        guard low > 0, high > low, offset > 0 else {
            throw RefoldError.value("subtraction toy", expected: "0 < low < high and offset > 0", actual: "low \(low), high \(high), offset \(offset)")
        }
        self.low = low; self.high = high; self.offset = offset
    }

    /// The unnormalised density (cross section per unit x) of a component.
    public func crossSectionDensity(_ component: Component, _ x: Double) -> Double {
        guard x >= low, x <= high else { return 0 }
        switch component {
        case .background: return 1 / x + offset
        case .subtract: return 1 / x
        case .difference: return offset
        }
    }

    /// sigma of a component: the integral over [low, high].
    public func crossSection(_ component: Component) -> Double {
        let logarithm = log(high / low), flat = offset * (high - low)
        switch component {
        case .background: return logarithm + flat
        case .subtract: return logarithm
        case .difference: return flat
        }
    }

    /// The normalised density of a component.
    public func density(_ component: Component, _ x: Double) -> Double {
        crossSectionDensity(component, x) / crossSection(component)
    }

    /// P(x in [a, b]) for a component (exact).
    public func probability(_ component: Component, _ range: ClosedRange<Double>) -> Double {
        let a = max(range.lowerBound, low), b = min(range.upperBound, high)
        guard b > a else { return 0 }
        let logarithm = log(b / a), flat = offset * (b - a)
        switch component {
        case .background: return (logarithm + flat) / crossSection(.background)
        case .subtract: return logarithm / crossSection(.subtract)
        case .difference: return flat / crossSection(.difference)
        }
    }

    /// One exact draw: 1/x by inversion (x = low (high/low)^u), the flat part uniform; B picks
    /// the part with probability proportional to its cross section.
    public func draw(_ component: Component, _ rng: RNGStream) -> Double {
        let ratio = high / low
        switch component {
        case .subtract: return low * pow(ratio, rng.uniform())
        case .difference: return rng.uniform(low, high)
        case .background:
            return rng.uniform() * crossSection(.background) < log(ratio) ? low * pow(ratio, rng.uniform()) : rng.uniform(low, high)
        }
    }

    public func sample(_ component: Component, events: Int, rng: RNGStream) -> [Double] {
        (0..<events).map { _ in draw(component, rng) }
    }

    /// The numbers recorded in meta.json.
    public func record(_ component: Component) -> [String: Double] {
        ["low": low, "high": high, "offset": offset, "cross_section": crossSection(component)]
    }
}
