/// MMD kernels of the squared distance d = |x - y|^2 (thesis eq. 4.6 / 5.16).
public enum MMDKernel: NamedCases {
    /// k = exp(-d / (2 sigma^2)).
    case gaussian
    /// k = sigma^2 / (d + sigma^2) (Breit-Wigner / Cauchy: heavy tails, for resonance peaks).
    case breitWigner

    public static let names: [String: MMDKernel] = ["gaussian": .gaussian, "breitWigner": .breitWigner]

    /// The kernel matrix from squared distances `d`, summed over `widths`.
    public func callAsFunction(_ d: Variable, widths: [Float]) -> Variable {
        precondition(!widths.isEmpty && widths.allSatisfy { $0 > 0 }, "MMDKernel: expected positive widths, got \(widths)")
        var total: Variable? = nil
        for sigma in widths {
            let s2 = sigma * sigma
            let k: Variable
            switch self {
            case .gaussian: k = exp(d * (-1 / (2 * s2)))
            case .breitWigner: k = s2 / (d + s2)
            }
            total = total.map { $0 + k } ?? k
        }
        return total!
    }
}

/// A maximum-mean-discrepancy loss (thesis eq. 4.5 / 5.15), the square root of the biased
/// (V-statistic) estimate on two batches x [N, D] and y [M, D]:
///
///     MMD = sqrt(max(<k(x,x')> + <k(y,y')> - 2 <k(x,y)>, 0) + epsilon)
///
/// with k summed over `widths` (in the units of the compared values: GeV for masses, e.g.
/// 2, 8, 25, 67). The root (not MMD^2) enhances sensitivity (thesis sec. 4.2); epsilon keeps its
/// gradient finite at 0 (at most 1 / (2 sqrt(epsilon)) = 500).
public struct MMDLoss: Equatable, Codable {
    public var kernel: MMDKernel
    public var widths: [Float]
    public static let epsilon: Float = 1e-6

    public init(kernel: MMDKernel = .gaussian, widths: [Float]) {
        self.kernel = kernel
        self.widths = widths
    }

    /// The thesis widths for masses in GeV (tables 5.1, 5.2).
    public static let massWidthsGeV: [Float] = [2, 8, 25, 67]

    /// MMD^2 of the batches (may be slightly negative for close samples).
    public func squared(_ x: Variable, _ y: Variable) -> Variable {
        precondition(x.value.rank == 2 && y.value.rank == 2 && x.value.columns == y.value.columns,
                     "MMDLoss: expected [N, D] and [M, D], got \(x.shape) and \(y.shape)")
        let kxx = mean(kernel(pairwiseSquaredDistances(x, x), widths: widths))
        let kyy = mean(kernel(pairwiseSquaredDistances(y, y), widths: widths))
        let kxy = mean(kernel(pairwiseSquaredDistances(x, y), widths: widths))
        return kxx + kyy - 2 * kxy
    }

    /// MMD of the batches, all dimensions jointly (|x - y| over the whole vector).
    public func callAsFunction(_ x: Variable, _ y: Variable) -> Variable {
        sqrt(relu(squared(x, y)) + MMDLoss.epsilon)
    }

    /// Sum over the columns of the 1D MMDs (every degree of freedom on its own, eINN).
    public func marginals(_ x: Variable, _ y: Variable) -> Variable {
        precondition(x.value.rank == 2 && y.value.rank == 2 && x.value.columns == y.value.columns,
                     "MMDLoss.marginals: expected [N, D] and [M, D], got \(x.shape) and \(y.shape)")
        var total: Variable? = nil
        for j in 0..<x.value.columns {
            let m = self(sliceColumns(x, start: j, count: 1), sliceColumns(y, start: j, count: 1))
            total = total.map { $0 + m } ?? m
        }
        return total!
    }
}

/// A named 1D observable computed differentiably from a batch of network-space vectors
/// [N, D] -> [N, 1] (for example m_jj from standardised features). Flows knows no physics: the
/// caller (the collider feature map) supplies the closure.
public struct Observable {
    public let name: String
    public let compute: (Variable) -> Variable
    public init(name: String, _ compute: @escaping (Variable) -> Variable) {
        self.name = name
        self.compute = compute
    }
}

/// An MMD loss on observables: sum over `observables` of MMD(o(generated), o(truth)).
public struct ObservableMMD {
    public var observables: [Observable]
    public var loss: MMDLoss

    public init(observables: [Observable], loss: MMDLoss = MMDLoss(widths: MMDLoss.massWidthsGeV)) {
        self.observables = observables
        self.loss = loss
    }

    public func callAsFunction(generated: Variable, truth: Variable) -> Variable? {
        var total: Variable? = nil
        for o in observables {
            let g = o.compute(generated), t = o.compute(truth)
            precondition(g.value.rank == 2 && g.value.columns == 1, "Observable \(o.name): expected [N, 1], got \(g.shape)")
            let m = loss(g, t)
            total = total.map { $0 + m } ?? m
        }
        return total
    }
}

extension MMDLoss: CheckedConfiguration {
    /// Throws unless there is at least one width and every width is positive and finite.
    public func validate() throws {
        guard !widths.isEmpty, widths.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw RefoldError.value("MMDLoss", expected: "widths: at least one, each > 0", actual: widths)
        }
    }
}
