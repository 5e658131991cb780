import Foundation
import ToyModels
import Validation

/// Kicker ramp p(x, y) = 3x^2 on [0, 1]^2 (thesis sec. 6.3.2, eq. 6.24-6.27).
public enum KickerStudy {
    /// Eq. 6.27 with x0 = 0, x_max = 1, added in quadrature:
    /// sigma^2 = (9 x (x - 2/3) Δx0)^2 + (9 x^2 Δx_max)^2; the non-trivial minimum sits at x = 2/3.
    static let uncertaintyFit = RampUncertaintyFit(
        names: ["Δx0", "Δx_max"], initial: [0.01, 0.01],
        model: { _ in { x, p in
            let a = 9 * x * (x - 2.0 / 3) * p[0], b = 9 * x * x * p[1]
            return (a * a + b * b).squareRoot()
        } },
        minimumTarget: 2.0 / 3, searchWindow: 0.4...0.9, equation: "6.27")

    public static func run(_ spec: StudySpec, _ context: StudyContext) throws -> StudyResult {
        try RampStudy.run(toy: KickerRamp(), fit: uncertaintyFit, context: context)
    }
}
