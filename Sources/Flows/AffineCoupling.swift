/// The soft clamp of the coupling log-scale: a bijection of R onto (-alpha, alpha) with slope 1
/// at 0, so small log-scales pass unchanged and large ones cannot overflow exp (thesis sec. 5.2,
/// "bijective soft clamping"; FrEIA's AllInOneBlock).
public enum SoftClamp: NamedCases {
    /// s' = alpha tanh(s / alpha).
    case tanh
    /// s' = alpha (2/pi) atan(s / alpha) (FrEIA's "ATAN": 2 * 0.636 * atan(s / 2) for alpha = 2,
    /// 0.636 being 2/pi rounded); heavier tails than tanh, slope 2/pi at 0.
    case atan

    public static let names: [String: SoftClamp] = ["tanh": .tanh, "atan": .atan]

    /// alpha = 2: |s'| < 2, so one block scales a coordinate by at most e^2 = 7.4 either way;
    /// 24 blocks can still reach any scale, while a single bad batch cannot blow up exp(s).
    public static let alpha: Float = 2

    public func callAsFunction(_ s: Variable) -> Variable {
        let a = SoftClamp.alpha
        switch self {
        case .tanh: return Autograd.tanh(s * (1 / a)) * a
        case .atan: return Autograd.atan(s * (1 / a)) * (a * 2 / Float.pi)
        }
    }
}

/// How a coupling subnet's last layer starts.
public enum SubnetInitialization: NamedCases {
    /// Zero last layer: every block starts as the identity (up to its global affine, also 1),
    /// so a deep stack starts with z = x and log-det 0 and the first steps of maximum-likelihood
    /// training are well conditioned (Glow, Kingma & Dhariwal 2018). FrEIA does not zero it but
    /// scales by 0.1; the gradient still reaches the hidden layers after the first step.
    case zeroLastLayer
    /// Kaiming-uniform everywhere (FrEIA's default).
    case kaiming

    public static let names: [String: SubnetInitialization] = ["zeroLastLayer": .zeroLastLayer, "kaiming": .kaiming]
}

/// The network of a coupling block: a(x1 ⊕ c) [N, 2 (D/2)] from the passive half and the
/// condition. `MLP` (deterministic) and `BayesianMLP` (weights drawn by its layers' mode) conform.
public protocol CouplingSubnet: Module {
    func callAsFunction(_ x: Variable) -> Variable
}

extension MLP: CouplingSubnet {}
extension BayesianMLP: CouplingSubnet {}

/// The fixed mixing of the features after each coupling block.
public enum CouplingMixing: Equatable {
    /// A random permutation, redrawn while it is the identity (rng child "permutation").
    case permutation
    /// A random rotation (`Rotation`, FrEIA's `permute_soft`; rng child "rotation").
    case rotation
}

/// The all-in-one affine coupling block (FrEIA AllInOneBlock; thesis eq. 5.13 and sec. 5.2),
/// generic over its subnet:
///
///     (x1, x2) = split(x),  a = 0.1 subnet(x1 ⊕ c),  (s, t) = split(a)
///     x2' = x2 ⊙ exp(clamp(s)) + t,   log-det = Σ clamp(s)
///     y = mix(scale ⊙ (x1 ⊕ x2') + bias)     (GlobalAffine, then a fixed permutation or rotation)
///
/// x1 holds the first D - D/2 features, x2 the last D/2. The subnet has `layers` linear layers of
/// `units` hidden units; the factor 0.1 (`coefficientScale`) keeps the initial coefficients small,
/// as FrEIA does. Conditional when `conditionDimension` > 0. Parameters "subnet.*", "affine.*"
/// (the mixing is fixed and rebuilt from the seed, not stored).
public final class AffineCoupling<Subnet: CouplingSubnet>: InvertibleTransform {
    /// The factor on the subnet output before the clamp (FrEIA's 0.1).
    public static var coefficientScale: Float { 0.1 }

    public let dimension: Int
    public let conditionDimension: Int
    public let clamp: SoftClamp
    public let subnet: Subnet
    public let globalAffine: GlobalAffine
    /// A `Permutation` or a `Rotation` (log-det 0).
    public let mixing: any InvertibleTransform

    var passiveWidth: Int { dimension - dimension / 2 }
    var activeWidth: Int { dimension / 2 }

    /// `makeSubnet(sizes, lastInitializer, rng)` builds the subnet of layer sizes
    /// [D - D/2 + C, units..., 2 (D/2)] from `rng` child "subnet"; the mixing draws from its own child.
    public init(dimension: Int, conditionDimension: Int, layers: Int, units: Int, clamp: SoftClamp,
                initialization: SubnetInitialization, mixing: CouplingMixing, rng: RNGStream,
                subnet makeSubnet: (_ sizes: [Int], _ lastInitializer: Initializer?, _ rng: RNGStream) -> Subnet) {
        precondition(dimension >= 2, "AffineCoupling: expected dimension >= 2, got \(dimension)")
        precondition(conditionDimension >= 0 && layers >= 1 && units >= 1,
                     "AffineCoupling: expected conditionDimension >= 0, layers >= 1, units >= 1, got \(conditionDimension), \(layers), \(units)")
        self.dimension = dimension
        self.conditionDimension = conditionDimension
        self.clamp = clamp
        let inputs = dimension - dimension / 2 + conditionDimension
        let sizes = [inputs] + [Int](repeating: units, count: layers - 1) + [2 * (dimension / 2)]
        subnet = makeSubnet(sizes, initialization == .zeroLastLayer ? .zeros : nil, rng.child("subnet"))
        globalAffine = GlobalAffine(dimension: dimension)
        switch mixing {
        case .permutation:
            // An identity would keep the same coordinates passive into the next block; in 2D a run
            // of identities (1/64 for 6 blocks) leaves one coordinate never transformed by the
            // condition (measured: a 2D cINN stalled at NLL 1.91 against 1.23). Redrawn from the
            // same stream, so other permutations are unchanged.
            let stream = rng.child("permutation")
            var order = stream.permutation(dimension)
            while order == Array(0..<dimension) { order = stream.permutation(dimension) }
            self.mixing = Permutation(order)
        case .rotation:
            self.mixing = Rotation(dimension: dimension, rng: rng.child("rotation"))
        }
    }

    public var parameters: [(name: String, variable: Variable)] {
        prefixed("subnet", subnet) + prefixed("affine", globalAffine)
    }

    /// (clamped s, t) from the passive half and the condition.
    private func coefficients(_ passive: Variable, _ condition: Variable?) -> (s: Variable, t: Variable) {
        var input = passive
        if conditionDimension > 0 {
            guard let condition else { preconditionFailure("AffineCoupling: expected a condition [N, \(conditionDimension)], got none") }
            precondition(condition.value.rank == 2 && condition.value.columns == conditionDimension
                         && condition.value.rows == passive.value.rows,
                         "AffineCoupling: expected condition [\(passive.value.rows), \(conditionDimension)], got \(condition.shape)")
            input = concat([passive, condition])
        }
        let a = subnet(input) * Self.coefficientScale
        let parts = split(a, sizes: [activeWidth, activeWidth])
        return (clamp(parts[0]), parts[1])
    }

    public func forward(_ x: Variable, condition: Variable?) -> (y: Variable, logDet: Variable) {
        checkInput("AffineCoupling.forward", x, dimension: dimension)
        let halves = split(x, sizes: [passiveWidth, activeWidth])
        let (s, t) = coefficients(halves[0], condition)
        let coupled = concat([halves[0], halves[1] * exp(s) + t])
        let (scaled, affineLogDet) = globalAffine.forward(coupled, condition: nil)
        return (mixing.forward(scaled, condition: nil).y, sum(s, axis: 1) + affineLogDet)
    }

    public func inverse(_ y: Variable, condition: Variable?) -> (x: Variable, logDet: Variable) {
        checkInput("AffineCoupling.inverse", y, dimension: dimension)
        let unmixed = mixing.inverse(y, condition: nil).x
        let (coupled, affineLogDet) = globalAffine.inverse(unmixed, condition: nil)
        let halves = split(coupled, sizes: [passiveWidth, activeWidth])
        let (s, t) = coefficients(halves[0], condition)
        let x2 = (halves[1] - t) * exp(-s)
        return (concat([halves[0], x2]), affineLogDet - sum(s, axis: 1))
    }
}

/// The coupling of the cINN and the INN generators: a deterministic MLP subnet (`activation`
/// between its layers, Kaiming-uniform weights) and a fixed permutation.
public typealias AllInOneCoupling = AffineCoupling<MLP>

/// The coupling of the BINN (thesis sec. 6.2.3: "replacing the deterministic sub-networks s and t
/// with Bayesian neural nets"): a `BayesianMLP` subnet, whose layers' mode (`.training`,
/// `.sampled`, `.mean`) decides which weights a pass uses, and a fixed rotation: in 2D with
/// independent coordinates (the ramps) a swap leaves every coupling at a stationary point (s, t of
/// an independent passive half gain nothing), and training stalls.
public typealias BayesianCoupling = AffineCoupling<BayesianMLP>

extension AffineCoupling where Subnet == MLP {
    /// `rng` draws the subnet weights (child "subnet") and the permutation (child "permutation").
    public convenience init(dimension: Int, conditionDimension: Int = 0, layers: Int = 2, units: Int = 256,
                            activation: Activation = .relu, clamp: SoftClamp = .tanh,
                            initialization: SubnetInitialization = .zeroLastLayer, rng: RNGStream) {
        self.init(dimension: dimension, conditionDimension: conditionDimension, layers: layers, units: units, clamp: clamp,
                  initialization: initialization, mixing: .permutation, rng: rng) { sizes, last, stream in
            MLP(sizes: sizes, activation: activation, initializer: .kaimingUniform, lastInitializer: last, rng: stream)
        }
    }
}

extension AffineCoupling where Subnet == BayesianMLP {
    /// Prior N(0, priorWidth^2) per weight; `rng` children "subnet" and "rotation".
    public convenience init(dimension: Int, conditionDimension: Int = 0, layers: Int, units: Int, priorWidth: Float = 1,
                            activation: Activation = .relu, clamp: SoftClamp = .tanh,
                            initialization: SubnetInitialization = .zeroLastLayer, rng: RNGStream) {
        self.init(dimension: dimension, conditionDimension: conditionDimension, layers: layers, units: units, clamp: clamp,
                  initialization: initialization, mixing: .rotation, rng: rng) { sizes, last, stream in
            BayesianMLP(sizes: sizes, activation: activation, initializer: .kaimingUniform, lastInitializer: last,
                        priorWidth: priorWidth, rng: stream)
        }
    }
}

/// A stack of `blocks` all-in-one couplings (block i from `rng.child(index: i)`), parameters
/// "block0.*", "block1.*", ...
public func couplingStack(dimension: Int, conditionDimension: Int = 0, blocks: Int, layers: Int, units: Int,
                          activation: Activation = .relu, clamp: SoftClamp = .tanh, initialization: SubnetInitialization = .zeroLastLayer,
                          rng: RNGStream) -> SequentialFlow {
    precondition(blocks >= 1, "couplingStack: expected blocks >= 1, got \(blocks)")
    let list: [any InvertibleTransform] = (0..<blocks).map { i in
        AllInOneCoupling(dimension: dimension, conditionDimension: conditionDimension, layers: layers, units: units,
                         activation: activation, clamp: clamp, initialization: initialization, rng: rng.child(index: i))
    }
    return SequentialFlow(list, prefix: "block")
}
