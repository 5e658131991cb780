import CGSL
import Foundation

/// A fixed map of a box onto R^D, per coordinate, applied before a flow so that it puts no
/// probability outside the box: with t = (x - lower) / (upper - lower),
///
///     logit:  u = log(t / (1 - t)),  log|du/dx| = -log(upper - lower) - log t - log(1 - t)
///     probit: u = Phi^-1(t),         log|du/dx| = -log(upper - lower) + u^2 / 2 + log(2 pi) / 2
///
/// and p(x) = p_u(u(x)) |du/dx|, normalised on the box. (The thesis, sec. 6.3, trains on the
/// bounded coordinates directly and removes the boundaries from its plots.) Phi from GSL.
public struct BoxMap: Codable, Equatable {
    public enum Kind: String, Codable, CaseIterable { case logit, probit }

    public var kind: Kind
    public var lower: [Double]
    public var upper: [Double]

    /// Events on an edge are moved inside by this fraction of the width, so their u stays finite.
    public static let edge = 1e-6

    public init(_ kind: Kind, lower: [Double], upper: [Double]) throws {
        guard lower.count == upper.count, !lower.isEmpty,
              zip(lower, upper).allSatisfy({ $0.isFinite && $1.isFinite && $1 > $0 }) else {
            throw RefoldError.value("BoxMap", expected: "equal numbers of finite bounds with upper > lower", actual: "\(lower), \(upper)")
        }
        self.kind = kind
        self.lower = lower
        self.upper = upper
    }

    public var dimension: Int { lower.count }

    private func check(_ t: Tensor) throws {
        guard t.rank == 2, t.columns == dimension else {
            throw RefoldError.shape("BoxMap input", expected: [t.shape.first ?? 0, dimension], actual: t.shape)
        }
    }

    /// u(t) and log|du/dt| for t in (0, 1).
    func map(_ t: Double) -> (u: Double, logDerivative: Double) {
        switch kind {
        case .logit:
            return (Foundation.log(t / (1 - t)), -Foundation.log(t) - Foundation.log(1 - t))
        case .probit:
            let u = gsl_cdf_ugaussian_Pinv(t)
            return (u, 0.5 * u * u + 0.5 * Foundation.log(2 * Double.pi))
        }
    }

    /// t(u) in (0, 1).
    func unmap(_ u: Double) -> Double {
        switch kind {
        case .logit: return 1 / (1 + Foundation.exp(-u))
        case .probit: return gsl_cdf_ugaussian_P(u)
        }
    }

    /// u(x) for rows [N, D] and log|det du/dx| per row. Points outside the box (or on its edge) get
    /// log-Jacobian -infinity, i.e. density 0; their u is that of the point `edge` inside.
    public func forward(_ x: Tensor) throws -> (u: Tensor, logJacobian: [Double]) {
        try check(x)
        var u = x
        var logJacobian = [Double](repeating: 0, count: x.rows)
        for i in 0..<x.rows {
            for j in 0..<dimension {
                let width = upper[j] - lower[j]
                let raw = (Double(x.storage[i * dimension + j]) - lower[j]) / width
                if !(raw > 0 && raw < 1) { logJacobian[i] = -.infinity }
                let (value, logDerivative) = map(min(max(raw, Self.edge), 1 - Self.edge))
                u.storage[i * dimension + j] = Float(value)
                logJacobian[i] += logDerivative - Foundation.log(width)
            }
        }
        return (u, logJacobian)
    }

    /// x(u) for rows [N, D] (inside the box for every finite u).
    public func inverse(_ u: Tensor) throws -> Tensor {
        try check(u)
        var x = u
        for i in 0..<x.count {
            let j = i % dimension
            x.storage[i] = Float(lower[j] + (upper[j] - lower[j]) * unmap(Double(u.storage[i])))
        }
        return x
    }
}
