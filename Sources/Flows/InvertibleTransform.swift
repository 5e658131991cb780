@_exported import NN
import Foundation

/// A bijection x <-> y of the feature axis of a batch [N, D], with its log-Jacobian.
///
/// Contract (checked by the test harness for every conformer):
/// - `forward(x).y` and `inverse(y).x` keep the shape [N, D];
/// - `inverse(forward(x).y).x == x` (to Float32 round-off);
/// - log-det: `forward` returns log|det dy/dx| per event, `inverse` returns log|det dx/dy|, so at
///   corresponding points inverse log-det = - forward log-det;
/// - the log-det has shape [N, 1] (the shape `sum(_, axis: 1)` gives, so it broadcasts against
///   per-event columns).
///
/// Conditional transforms read `condition` [N, C] (the same rows as x); unconditional ones ignore
/// it. All operations are Variable ops, so the log-det differentiates (maximum likelihood).
public protocol InvertibleTransform: Module {
    /// The feature dimension D.
    var dimension: Int { get }
    /// y = g(x; c) and log|det dg/dx| [N, 1].
    func forward(_ x: Variable, condition: Variable?) -> (y: Variable, logDet: Variable)
    /// x = g^-1(y; c) and log|det dg^-1/dy| [N, 1].
    func inverse(_ y: Variable, condition: Variable?) -> (x: Variable, logDet: Variable)
}

extension InvertibleTransform {
    /// y = g(x) without a log-det.
    public func callAsFunction(_ x: Variable, condition: Variable? = nil) -> Variable {
        forward(x, condition: condition).y
    }
}

/// A zero log-det [N, 1] (a constant).
func zeroLogDet(rows: Int) -> Variable { Variable(Tensor(shape: [rows, 1])) }

func checkInput(_ name: String, _ x: Variable, dimension: Int) {
    precondition(x.value.rank == 2 && x.value.columns == dimension,
                 "\(name): expected input [N, \(dimension)], got \(x.shape)")
}

/// y[:, j] = x[:, permutation[j]]: a fixed permutation of the features, log-det 0.
public final class Permutation: InvertibleTransform {
    public let permutation: [Int]
    public let inversePermutation: [Int]

    /// A given permutation of 0..<D.
    public init(_ permutation: [Int]) {
        precondition(permutation.sorted() == Array(0..<permutation.count),
                     "Permutation: expected a permutation of 0..<\(permutation.count), got \(permutation)")
        self.permutation = permutation
        var inverse = [Int](repeating: 0, count: permutation.count)
        for (j, source) in permutation.enumerated() { inverse[source] = j }
        inversePermutation = inverse
    }

    /// A random permutation of 0..<dimension drawn from `rng`.
    public convenience init(dimension: Int, rng: RNGStream) { self.init(rng.permutation(dimension)) }

    public var dimension: Int { permutation.count }
    public var parameters: [(name: String, variable: Variable)] { [] }

    public func forward(_ x: Variable, condition: Variable?) -> (y: Variable, logDet: Variable) {
        checkInput("Permutation.forward", x, dimension: dimension)
        return (gatherColumns(x, indices: permutation), zeroLogDet(rows: x.value.rows))
    }

    public func inverse(_ y: Variable, condition: Variable?) -> (x: Variable, logDet: Variable) {
        checkInput("Permutation.inverse", y, dimension: dimension)
        return (gatherColumns(y, indices: inversePermutation), zeroLogDet(rows: y.value.rows))
    }
}

/// y = x * scale + bias with scale = beta softplus(p) > 0 per feature (FrEIA's global affine):
/// log-det = sum_j log scale_j, the same for every event.
///
/// `beta` = 0.1 damps the scale's response to its raw parameter (FrEIA's choice); p starts at
/// softplus^-1(1/beta) = log(e^(1/beta) - 1), so the scale starts at exactly 1 and the bias at 0.
public final class GlobalAffine: InvertibleTransform {
    /// The factor beta in scale = beta softplus(p).
    public static let scaleFactor: Float = 0.1
    /// p0 with beta softplus(p0) = 1.
    public static var identityRawScale: Float { Float(Foundation.log(Foundation.exp(1 / Double(scaleFactor)) - 1)) }

    /// Raw scale p [1, D] and bias [1, D].
    public let rawScale: Variable
    public let bias: Variable

    public init(dimension: Int) {
        precondition(dimension > 0, "GlobalAffine: expected dimension > 0, got \(dimension)")
        rawScale = Variable(Tensor(shape: [1, dimension], repeating: GlobalAffine.identityRawScale), requiresGrad: true, name: "rawScale")
        bias = Variable(Tensor(shape: [1, dimension]), requiresGrad: true, name: "bias")
    }

    public var dimension: Int { rawScale.value.columns }
    public var parameters: [(name: String, variable: Variable)] { [("rawScale", rawScale), ("bias", bias)] }

    /// beta softplus(p) [1, D].
    public var scale: Variable { softplus(rawScale) * GlobalAffine.scaleFactor }

    private func logDet(rows: Int, sign: Float) -> Variable {
        let total = reshape(sum(log(scale)), [1, 1])
        return broadcast(sign == 1 ? total : -total, to: [rows, 1])
    }

    public func forward(_ x: Variable, condition: Variable?) -> (y: Variable, logDet: Variable) {
        checkInput("GlobalAffine.forward", x, dimension: dimension)
        return (x * scale + bias, logDet(rows: x.value.rows, sign: 1))
    }

    public func inverse(_ y: Variable, condition: Variable?) -> (x: Variable, logDet: Variable) {
        checkInput("GlobalAffine.inverse", y, dimension: dimension)
        return ((y - bias) / scale, logDet(rows: y.value.rows, sign: -1))
    }
}

/// The composition g_n o ... o g_1: forward runs the transforms in order and adds their
/// log-dets, inverse runs them backwards. Parameters "t0.*", "t1.*", ... (or `prefix`).
public final class SequentialFlow: InvertibleTransform {
    public let transforms: [any InvertibleTransform]
    public let prefix: String

    public init(_ transforms: [any InvertibleTransform], prefix: String = "t") {
        precondition(!transforms.isEmpty, "SequentialFlow: expected at least one transform")
        let d = transforms[0].dimension
        precondition(transforms.allSatisfy { $0.dimension == d },
                     "SequentialFlow: expected equal dimensions, got \(transforms.map(\.dimension))")
        self.transforms = transforms
        self.prefix = prefix
    }

    public var dimension: Int { transforms[0].dimension }

    public var parameters: [(name: String, variable: Variable)] {
        transforms.enumerated().flatMap { prefixed("\(prefix)\($0.offset)", $0.element) }
    }

    public func forward(_ x: Variable, condition: Variable?) -> (y: Variable, logDet: Variable) {
        var h = x
        var total: Variable? = nil
        for t in transforms {
            let (y, logDet) = t.forward(h, condition: condition)
            h = y
            total = total.map { $0 + logDet } ?? logDet
        }
        return (h, total!)
    }

    public func inverse(_ y: Variable, condition: Variable?) -> (x: Variable, logDet: Variable) {
        var h = y
        var total: Variable? = nil
        for t in transforms.reversed() {
            let (x, logDet) = t.inverse(h, condition: condition)
            h = x
            total = total.map { $0 + logDet } ?? logDet
        }
        return (h, total!)
    }
}
