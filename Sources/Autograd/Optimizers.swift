import Foundation

/// A first-order optimizer over named parameters. State tensors are named
/// "<kind>.<slot>.<parameter>" (for example "adam.m.layer0.weight") for checkpoints.
public protocol Optimizer: AnyObject {
    var parameters: [(name: String, variable: Variable)] { get }
    /// The rate of the next step (overwritten from `schedule` when one is set).
    var learningRate: Float { get set }
    var schedule: LRSchedule? { get set }
    /// Steps taken so far.
    var stepCount: Int { get }
    /// Applies one update from the parameters' `.grad` (parameters without a gradient are skipped).
    func step()
    /// Named state tensors (moments), in a fixed order.
    var state: [(name: String, tensor: Tensor)] { get }
    /// Restores state saved from `state` and the step count.
    func loadState(_ tensors: [String: Tensor], stepCount: Int) throws
}

extension Optimizer {
    /// Clears every parameter gradient.
    public func zeroGrad() { for p in parameters { p.variable.grad = nil } }
}

/// Stochastic gradient descent with momentum (PyTorch convention): b = mu b + g, p -= lr b.
public final class SGD: Optimizer {
    public let parameters: [(name: String, variable: Variable)]
    public var learningRate: Float
    public var schedule: LRSchedule?
    public let momentum: Float
    public private(set) var stepCount = 0
    var buffers: [Tensor]

    public init(_ parameters: [(name: String, variable: Variable)], learningRate: Float, momentum: Float = 0) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        buffers = parameters.map { Tensor(shape: $0.variable.shape) }
    }

    public func step() {
        if let schedule { learningRate = schedule.rate(step: stepCount) }
        stepCount += 1
        let lr = learningRate, mu = momentum
        for (i, p) in parameters.enumerated() {
            guard let g = p.variable.grad else { continue }
            g.storage.withUnsafeBufferPointer { g in
                buffers[i].storage.withUnsafeMutableBufferPointer { b in
                    p.variable.value.storage.withUnsafeMutableBufferPointer { w in
                        for j in 0..<w.count { b[j] = mu * b[j] + g[j]; w[j] -= lr * b[j] }
                    }
                }
            }
        }
    }

    public var state: [(name: String, tensor: Tensor)] {
        zip(parameters, buffers).map { (name: "sgd.momentum.\($0.name)", tensor: $1) }
    }

    public func loadState(_ tensors: [String: Tensor], stepCount: Int) throws {
        buffers = try loadSlots(tensors, "sgd.momentum", parameters)
        self.stepCount = stepCount
    }
}

/// Adam (Kingma & Ba 2014), and AdamW (Loshchilov & Hutter 2017) with `decoupled`:
/// m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
/// p -= lr [m / (1 - b1^t)] / (sqrt(v / (1 - b2^t)) + eps)   (PyTorch's formula),
/// weight decay: AdamW p -= lr wd p before the step; Adam (L2) g += wd p.
public class Adam: Optimizer {
    public let parameters: [(name: String, variable: Variable)]
    public var learningRate: Float
    public var schedule: LRSchedule?
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    public let decoupled: Bool
    public private(set) var stepCount = 0
    var m: [Tensor], v: [Tensor]
    var kind: String { decoupled ? "adamw" : "adam" }

    public init(_ parameters: [(name: String, variable: Variable)], learningRate: Float = 1e-3,
                beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                weightDecay: Float = 0, decoupled: Bool = false) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon
        self.weightDecay = weightDecay; self.decoupled = decoupled
        m = parameters.map { Tensor(shape: $0.variable.shape) }
        v = m
    }

    public func step() {
        if let schedule { learningRate = schedule.rate(step: stepCount) }
        stepCount += 1
        let t = Double(stepCount)
        let correction1 = 1 - pow(Double(beta1), t), correction2 = 1 - pow(Double(beta2), t)
        let stepSize = Float(Double(learningRate) / correction1)
        let invRoot2 = Float(1 / correction2.squareRoot())
        let (b1, b2, eps, lr) = (beta1, beta2, epsilon, learningRate)
        let decay = decoupled ? 1 - lr * weightDecay : 1
        let l2 = decoupled ? 0 : weightDecay
        // One thread: splitting the update over the second core (which BLIS's OpenMP worker
        // still spins on right after a product) measured no faster on two cores.
        for (i, p) in parameters.enumerated() {
            guard let g = p.variable.grad else { continue }
            precondition(g.shape == p.variable.shape, "Adam: gradient shape \(g.shape) differs from parameter \(p.name) \(p.variable.shape)")
            g.storage.withUnsafeBufferPointer { g in
                m[i].storage.withUnsafeMutableBufferPointer { m in
                    v[i].storage.withUnsafeMutableBufferPointer { v in
                        p.variable.value.storage.withUnsafeMutableBufferPointer { w in
                            adamKernel(w.baseAddress!, g.baseAddress!, m.baseAddress!, v.baseAddress!, w.count,
                                       b1, b2, eps, stepSize, invRoot2, decay, l2)
                        }
                    }
                }
            }
        }
    }

    public var state: [(name: String, tensor: Tensor)] {
        zip(parameters, m).map { (name: "\(kind).m.\($0.name)", tensor: $1) }
            + zip(parameters, v).map { (name: "\(kind).v.\($0.name)", tensor: $1) }
    }

    public func loadState(_ tensors: [String: Tensor], stepCount: Int) throws {
        m = try loadSlots(tensors, "\(kind).m", parameters)
        v = try loadSlots(tensors, "\(kind).v", parameters)
        self.stepCount = stepCount
    }
}

/// One Adam update of n weights, eight lanes at a time (explicit SIMD: the scalar loop does not
/// vectorise), then the tail.
@inline(never)
func adamKernel(_ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                _ v: UnsafeMutablePointer<Float>, _ n: Int, _ b1: Float, _ b2: Float, _ eps: Float,
                _ stepSize: Float, _ invRoot2: Float, _ decay: Float, _ l2: Float) {
    typealias V = SIMD8<Float>
    var j = 0
    while j + 8 <= n {
        let wj = UnsafeRawPointer(w + j).loadUnaligned(as: V.self)
        let gj = UnsafeRawPointer(g + j).loadUnaligned(as: V.self) + l2 * wj
        let mj = b1 * UnsafeRawPointer(m + j).loadUnaligned(as: V.self) + (1 - b1) * gj
        let vj = b2 * UnsafeRawPointer(v + j).loadUnaligned(as: V.self) + (1 - b2) * gj * gj
        UnsafeMutableRawPointer(m + j).storeBytes(of: mj, as: V.self)
        UnsafeMutableRawPointer(v + j).storeBytes(of: vj, as: V.self)
        let update = decay * wj - stepSize * mj / (vj.squareRoot() * invRoot2 + eps)
        UnsafeMutableRawPointer(w + j).storeBytes(of: update, as: V.self)
        j += 8
    }
    while j < n {
        let gj = g[j] + l2 * w[j]
        let mj = b1 * m[j] + (1 - b1) * gj
        let vj = b2 * v[j] + (1 - b2) * gj * gj
        m[j] = mj
        v[j] = vj
        w[j] = decay * w[j] - stepSize * mj / (vj.squareRoot() * invRoot2 + eps)
        j += 1
    }
}

/// AdamW: Adam with decoupled weight decay (default 1e-2, as in PyTorch).
public final class AdamW: Adam {
    public init(_ parameters: [(name: String, variable: Variable)], learningRate: Float = 1e-3,
                beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 1e-2) {
        super.init(parameters, learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                   weightDecay: weightDecay, decoupled: true)
    }
}

/// Names for unnamed variables: their `name`, else "p<index>".
public func named(_ variables: [Variable]) -> [(name: String, variable: Variable)] {
    variables.enumerated().map { (name: $0.element.name ?? "p\($0.offset)", variable: $0.element) }
}

private func loadSlots(_ tensors: [String: Tensor], _ prefix: String,
                       _ parameters: [(name: String, variable: Variable)]) throws -> [Tensor] {
    try parameters.map { p in
        let key = "\(prefix).\(p.name)"
        guard let t = tensors[key] else {
            throw RefoldError.value("optimizer state \(key)", expected: "a tensor of shape \(p.variable.shape)", actual: "missing")
        }
        guard t.shape == p.variable.shape else { throw RefoldError.shape("optimizer state \(key)", expected: p.variable.shape, actual: t.shape) }
        return t
    }
}

/// Scales all gradients so that their joint L2 norm is at most `maxNorm` (factor
/// maxNorm / (norm + 1e-6), as PyTorch); returns the norm before clipping.
@discardableResult
public func clipGradNorm(_ parameters: [Variable], maxNorm: Float) -> Float {
    var total = 0.0
    for p in parameters {
        guard let g = p.grad else { continue }
        g.storage.withUnsafeBufferPointer { x in
            var s: Float = 0
            for v in x { s += v * v }
            total += Double(s)
        }
    }
    let norm = Float(total.squareRoot())
    if norm > maxNorm {
        let factor = maxNorm / (norm + 1e-6)
        for p in parameters where p.grad != nil { p.grad!.scaleInPlace(factor) }
    }
    return norm
}
