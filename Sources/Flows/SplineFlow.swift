import Foundation

/// How many elements of the last batch a spline transform saw lay in its linear tails |v| > B
/// (identity there: a sample that lands in the tails is not shaped by the spline).
public struct SplineTailCount: Equatable, Sendable {
    public var inTails: Int
    public var elements: Int

    public init(inTails: Int = 0, elements: Int = 0) { self.inTails = inTails; self.elements = elements }

    /// inTails / elements (0 for an empty batch).
    public var fraction: Double { elements == 0 ? 0 : Double(inTails) / Double(elements) }

    public static func + (a: SplineTailCount, b: SplineTailCount) -> SplineTailCount {
        SplineTailCount(inTails: a.inTails + b.inTails, elements: a.elements + b.elements)
    }
}

/// A transform built on `rationalQuadraticSpline`; it records the tail count of every call.
public protocol SplineTransform: InvertibleTransform {
    var spline: RationalQuadraticSpline { get }
    /// Elements of the transformed features of the last forward or inverse input in |v| > B.
    var lastTailCount: SplineTailCount { get }
}

func checkCondition(_ name: String, _ condition: Variable?, rows: Int, columns: Int) -> Variable? {
    guard columns > 0 else { return nil }
    guard let condition else { preconditionFailure("\(name): expected a condition [\(rows), \(columns)], got none") }
    precondition(condition.value.rank == 2 && condition.shape == [rows, columns],
                 "\(name): expected condition [\(rows), \(columns)], got \(condition.shape)")
    return condition
}

/// Neural spline coupling (Durkan et al. 2019, arXiv:1906.04032, sec. 3.2 with sec. 3.1):
///
///     y_p = x_p,   y_a = RQS(x_a; theta),   theta = subnet(x_p ⊕ c)   (3K - 1 per active feature)
///     log|det J| = sum_a log dRQS/dx_a
///
/// with `mask[j]` true for the active (transformed) features. The subnet's last layer starts at
/// zero, so the block starts as the identity (equal bins, unit slopes).
public final class SplineCoupling: SplineTransform {
    public let dimension: Int
    public let conditionDimension: Int
    public let spline: RationalQuadraticSpline
    public let mask: [Bool]
    public let subnet: MLP
    public private(set) var lastTailCount = SplineTailCount()

    /// The active (transformed) and passive features, in increasing order.
    public let active: [Int], passive: [Int]
    /// Column of feature j in passive ⊕ active.
    let merge: [Int]

    /// Features j with j % 2 == parity are active.
    public static func alternatingMask(dimension: Int, parity: Int) -> [Bool] {
        (0..<dimension).map { $0 % 2 == parity % 2 }
    }

    /// `layers` linear layers of `units` hidden units (ReLU); `rng` draws the subnet.
    public init(mask: [Bool], conditionDimension: Int = 0, spline: RationalQuadraticSpline = RationalQuadraticSpline(),
                layers: Int = 3, units: Int = 64, rng: RNGStream) {
        let activeCount = mask.filter { $0 }.count
        precondition(activeCount >= 1 && activeCount < mask.count,
                     "SplineCoupling: expected 1 ..< \(mask.count) active features, got \(activeCount) in mask \(mask)")
        precondition(conditionDimension >= 0 && layers >= 1 && units >= 1,
                     "SplineCoupling: expected conditionDimension >= 0, layers >= 1, units >= 1, got \(conditionDimension), \(layers), \(units)")
        dimension = mask.count
        self.conditionDimension = conditionDimension
        self.spline = spline
        self.mask = mask
        active = mask.indices.filter { mask[$0] }
        passive = mask.indices.filter { !mask[$0] }
        var merge = [Int](repeating: 0, count: mask.count)
        for (column, feature) in (passive + active).enumerated() { merge[feature] = column }
        self.merge = merge
        let sizes = [passive.count + conditionDimension] + [Int](repeating: units, count: layers - 1)
            + [active.count * spline.parametersPerFeature]
        subnet = MLP(sizes: sizes, activation: .relu, initializer: .kaimingUniform, lastInitializer: .zeros, rng: rng)
    }

    public var parameters: [(name: String, variable: Variable)] { prefixed("subnet", subnet) }

    private func apply(_ v: Variable, _ condition: Variable?, _ direction: SplineDirection) -> (Variable, Variable) {
        let name = direction == .forward ? "SplineCoupling.forward" : "SplineCoupling.inverse"
        checkInput(name, v, dimension: dimension)
        let c = checkCondition(name, condition, rows: v.value.rows, columns: conditionDimension)
        let vPassive = gatherColumns(v, indices: passive), vActive = gatherColumns(v, indices: active)
        let theta = subnet(c.map { concat([vPassive, $0]) } ?? vPassive)
        let out = rationalQuadraticSpline(vActive, parameters: theta, spline: spline, direction: direction)
        lastTailCount = SplineTailCount(inTails: spline.tailCount(vActive.value), elements: vActive.value.count)
        let parts = split(out, sizes: [active.count, 1])
        return (gatherColumns(concat([vPassive, parts[0]]), indices: merge), parts[1])
    }

    public func forward(_ x: Variable, condition: Variable?) -> (y: Variable, logDet: Variable) {
        apply(x, condition, .forward)
    }

    public func inverse(_ y: Variable, condition: Variable?) -> (x: Variable, logDet: Variable) {
        apply(y, condition, .inverse)
    }
}

/// Masked autoregressive neural spline (Durkan et al. 2019, sec. 3.2; MADE conditioner,
/// Germain et al. 2015, arXiv:1502.03509):
///
///     y_i = RQS(x_i; theta_i(x_<i, c)),   log|det J| = sum_i log dRQS/dx_i
///
/// with "<" in `order`. dy_i/dx_j = 0 for order[j] > order[i]: the Jacobian is triangular in
/// that order. Forward is one pass; the inverse takes D passes, pass t fixing the feature with
/// order t (its parameters read only features fixed before).
public final class MaskedAutoregressiveSpline: SplineTransform {
    public let spline: RationalQuadraticSpline
    public let network: MaskedAutoencoder
    public private(set) var lastTailCount = SplineTailCount()

    /// `order` defaults to 0..<D; `layers` linear layers of `units` hidden units in the MADE.
    public init(dimension: Int, conditionDimension: Int = 0, order: [Int]? = nil,
                spline: RationalQuadraticSpline = RationalQuadraticSpline(), layers: Int = 3, units: Int = 64, rng: RNGStream) {
        precondition(dimension >= 1, "MaskedAutoregressiveSpline: expected dimension >= 1, got \(dimension)")
        self.spline = spline
        network = MaskedAutoencoder(order: order ?? Array(0..<dimension), conditionDimension: conditionDimension,
                                    outputsPerFeature: spline.parametersPerFeature, layers: layers, units: units, rng: rng)
    }

    public var dimension: Int { network.dimension }
    public var conditionDimension: Int { network.conditionDimension }
    public var parameters: [(name: String, variable: Variable)] { prefixed("made", network) }

    public func forward(_ x: Variable, condition: Variable?) -> (y: Variable, logDet: Variable) {
        checkInput("MaskedAutoregressiveSpline.forward", x, dimension: dimension)
        let c = checkCondition("MaskedAutoregressiveSpline.forward", condition, rows: x.value.rows, columns: conditionDimension)
        lastTailCount = SplineTailCount(inTails: spline.tailCount(x.value), elements: x.value.count)
        let out = rationalQuadraticSpline(x, parameters: network(x, condition: c), spline: spline, direction: .forward)
        let parts = split(out, sizes: [dimension, 1])
        return (parts[0], parts[1])
    }

    public func inverse(_ y: Variable, condition: Variable?) -> (x: Variable, logDet: Variable) {
        checkInput("MaskedAutoregressiveSpline.inverse", y, dimension: dimension)
        let c = checkCondition("MaskedAutoregressiveSpline.inverse", condition, rows: y.value.rows, columns: conditionDimension)
        lastTailCount = SplineTailCount(inTails: spline.tailCount(y.value), elements: y.value.count)
        var x = Variable(Tensor(shape: y.shape))
        var logDet = zeroLogDet(rows: y.value.rows)
        for _ in 0..<dimension {
            let out = rationalQuadraticSpline(y, parameters: network(x, condition: c), spline: spline, direction: .inverse)
            let parts = split(out, sizes: [dimension, 1])
            (x, logDet) = (parts[0], parts[1])
        }
        return (x, logDet)
    }
}

/// Sizes of a conditional spline flow.
public struct SplineFlowConfig: Codable, Equatable, Sendable {
    /// The conditioner of each transform.
    public enum Conditioner: String, Codable, Sendable {
        /// `MaskedAutoregressiveSpline`, orders alternating 0..<D and reversed.
        case autoregressive
        /// `SplineCoupling`, active features alternating even and odd.
        case coupling
    }

    public var conditioner: Conditioner
    public var transforms: Int
    /// Linear layers and hidden units of each conditioner network.
    public var layers: Int
    public var units: Int
    public var spline: RationalQuadraticSpline

    public init(conditioner: Conditioner, transforms: Int, layers: Int, units: Int, spline: RationalQuadraticSpline) {
        precondition(transforms >= 1, "SplineFlowConfig: expected transforms >= 1, got \(transforms)")
        self.conditioner = conditioner; self.transforms = transforms; self.layers = layers; self.units = units; self.spline = spline
    }

    /// 6 autoregressive transforms, MADE 3 layers x 64 units, K = 16, B = 5 (the bench size).
    public static let quick = SplineFlowConfig(conditioner: .autoregressive, transforms: 6, layers: 3, units: 64,
                                               spline: RationalQuadraticSpline(bins: 16, bound: 5))
}

/// A conditional density p(x | c) = N(z; 0, 1) |det dz/dx|, z = g(x; c), with g a stack of
/// spline transforms (zuko's NSF). Parameters "t0.*", "t1.*", ...
public final class ConditionalSplineFlow: InvertibleTransform {
    public let conditionDimension: Int
    public let config: SplineFlowConfig
    public let flow: SequentialFlow
    public let splines: [any SplineTransform]

    /// Transform i draws from `rng.child(index: i)`.
    public init(dimension: Int, conditionDimension: Int, config: SplineFlowConfig, rng: RNGStream) {
        precondition(dimension >= 2, "ConditionalSplineFlow: expected dimension >= 2, got \(dimension)")
        self.conditionDimension = conditionDimension
        self.config = config
        let splines: [any SplineTransform] = (0..<config.transforms).map { i in
            switch config.conditioner {
            case .autoregressive:
                let order = Array(0..<dimension)
                return MaskedAutoregressiveSpline(dimension: dimension, conditionDimension: conditionDimension,
                                                  order: i % 2 == 0 ? order : order.reversed(), spline: config.spline,
                                                  layers: config.layers, units: config.units, rng: rng.child(index: i))
            case .coupling:
                return SplineCoupling(mask: SplineCoupling.alternatingMask(dimension: dimension, parity: i), conditionDimension: conditionDimension,
                                      spline: config.spline, layers: config.layers, units: config.units, rng: rng.child(index: i))
            }
        }
        self.splines = splines
        flow = SequentialFlow(splines.map { $0 as any InvertibleTransform })
    }

    public var dimension: Int { flow.dimension }
    public var parameters: [(name: String, variable: Variable)] { flow.parameters }

    public func forward(_ x: Variable, condition: Variable?) -> (y: Variable, logDet: Variable) { flow.forward(x, condition: condition) }
    public func inverse(_ y: Variable, condition: Variable?) -> (x: Variable, logDet: Variable) { flow.inverse(y, condition: condition) }

    /// log p(x | c) per event [N, 1] = -|z|^2 / 2 - D/2 log(2 pi) + log|det dz/dx|.
    public func logLikelihood(_ x: Variable, condition: Variable) -> Variable {
        let (z, logDet) = forward(x, condition: condition)
        let constant = Float(dimension) / 2 * Float(Foundation.log(2 * Double.pi))
        return sum(square(z), axis: 1) * -0.5 + logDet - constant
    }

    /// One sample x = g^-1(z; c), z ~ N(0, 1), per row of `condition` [N, C]: [N, D], without a graph.
    public func sample(condition: Tensor, rng: RNGStream) -> Tensor {
        withNoGrad {
            let z = Variable(Tensor.normal([condition.rows, dimension], rng: rng))
            return inverse(z, condition: Variable(condition)).x.value
        }
    }

    /// Tail counts of the last call, one per transform.
    public var lastTailCounts: [SplineTailCount] { splines.map(\.lastTailCount) }
}
