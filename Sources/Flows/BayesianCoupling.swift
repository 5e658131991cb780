import CGSL

/// The all-in-one affine coupling (see `AllInOneCoupling`) with a Bayesian subnet (thesis
/// sec. 6.2.3: "replacing the deterministic sub-networks s and t with Bayesian neural nets"):
///
///     (x1, x2) = split(x),  a = 0.1 subnet_theta(x1),  (s, t) = split(a)
///     x2' = x2 exp(clamp(s)) + t,  then GlobalAffine and a fixed Permutation.
///
/// After each block a fixed random rotation mixes the features (FrEIA's `permute_soft`), not a
/// hard permutation: in 2D with independent coordinates (the ramps) a swap leaves every coupling at a
/// stationary point (s, t of an independent passive half gain nothing), and training stalls.
/// Unconditional. The subnet's mode (`.training`, `.sampled`, `.mean`) decides which weights a pass uses.
public final class BayesianCoupling: InvertibleTransform {
    public let dimension: Int
    public let clamp: SoftClamp
    public let subnet: BayesianMLP
    public let globalAffine: GlobalAffine
    public let rotation: Rotation

    var passiveWidth: Int { dimension - dimension / 2 }
    var activeWidth: Int { dimension / 2 }

    /// `layers` linear layers of `units`; `rng` child "subnet" and "rotation".
    public init(dimension: Int, layers: Int, units: Int, priorWidth: Float = 1, activation: Activation = .relu,
                clamp: SoftClamp = .tanh, initialization: SubnetInitialization = .zeroLastLayer, rng: RNGStream) {
        precondition(dimension >= 2 && layers >= 1 && units >= 1,
                     "BayesianCoupling: expected dimension >= 2, layers >= 1, units >= 1, got \(dimension), \(layers), \(units)")
        self.dimension = dimension
        self.clamp = clamp
        let sizes = [dimension - dimension / 2] + [Int](repeating: units, count: layers - 1) + [2 * (dimension / 2)]
        subnet = BayesianMLP(sizes: sizes, activation: activation, initializer: .kaimingUniform,
                             lastInitializer: initialization == .zeroLastLayer ? .zeros : nil,
                             priorWidth: priorWidth, rng: rng.child("subnet"))
        globalAffine = GlobalAffine(dimension: dimension)
        rotation = Rotation(dimension: dimension, rng: rng.child("rotation"))
    }

    public var parameters: [(name: String, variable: Variable)] {
        prefixed("subnet", subnet) + prefixed("affine", globalAffine)
    }

    private func coefficients(_ passive: Variable) -> (s: Variable, t: Variable) {
        let a = subnet(passive) * AllInOneCoupling.coefficientScale
        let parts = split(a, sizes: [activeWidth, activeWidth])
        return (clamp(parts[0]), parts[1])
    }

    public func forward(_ x: Variable, condition: Variable?) -> (y: Variable, logDet: Variable) {
        checkInput("BayesianCoupling.forward", x, dimension: dimension)
        let halves = split(x, sizes: [passiveWidth, activeWidth])
        let (s, t) = coefficients(halves[0])
        let coupled = concat([halves[0], halves[1] * exp(s) + t])
        let (scaled, affineLogDet) = globalAffine.forward(coupled, condition: nil)
        return (rotation.forward(scaled, condition: nil).y, sum(s, axis: 1) + affineLogDet)
    }

    public func inverse(_ y: Variable, condition: Variable?) -> (x: Variable, logDet: Variable) {
        checkInput("BayesianCoupling.inverse", y, dimension: dimension)
        let unpermuted = rotation.inverse(y, condition: nil).x
        let (coupled, affineLogDet) = globalAffine.inverse(unpermuted, condition: nil)
        let halves = split(coupled, sizes: [passiveWidth, activeWidth])
        let (s, t) = coefficients(halves[0])
        let x2 = (halves[1] - t) * exp(-s)
        return (concat([halves[0], x2]), affineLogDet - sum(s, axis: 1))
    }
}

/// y = x Q with a fixed random orthogonal Q (Haar: QR of a Gaussian matrix with the signs of R's
/// diagonal fixed, GSL), log-det 0.
public final class Rotation: InvertibleTransform {
    /// Q [D, D] (a constant).
    public let matrix: Tensor

    public init(dimension: Int, rng: RNGStream) {
        precondition(dimension >= 1, "Rotation: expected dimension >= 1, got \(dimension)")
        let d = dimension
        let a = gsl_matrix_alloc(d, d)!, tau = gsl_vector_alloc(d)!, q = gsl_matrix_alloc(d, d)!, r = gsl_matrix_alloc(d, d)!
        defer { gsl_matrix_free(a); gsl_vector_free(tau); gsl_matrix_free(q); gsl_matrix_free(r) }
        for i in 0..<d { for j in 0..<d { gsl_matrix_set(a, i, j, rng.normal()) } }
        gsl_linalg_QR_decomp(a, tau)
        gsl_linalg_QR_unpack(a, tau, q, r)
        var values = [Float](repeating: 0, count: d * d)
        for j in 0..<d {
            let sign: Double = gsl_matrix_get(r, j, j) < 0 ? -1 : 1
            for i in 0..<d { values[i * d + j] = Float(sign * gsl_matrix_get(q, i, j)) }
        }
        matrix = Tensor(shape: [d, d], storage: values)
    }

    public var dimension: Int { matrix.rows }
    public var parameters: [(name: String, variable: Variable)] { [] }

    public func forward(_ x: Variable, condition: Variable?) -> (y: Variable, logDet: Variable) {
        checkInput("Rotation.forward", x, dimension: dimension)
        return (matmul(x, Variable(matrix)), zeroLogDet(rows: x.value.rows))
    }

    public func inverse(_ y: Variable, condition: Variable?) -> (x: Variable, logDet: Variable) {
        checkInput("Rotation.inverse", y, dimension: dimension)
        return (matmul(y, Variable(matrix), transposeB: true), zeroLogDet(rows: y.value.rows))
    }
}
