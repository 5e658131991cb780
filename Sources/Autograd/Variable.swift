@_exported import Tensor

/// The grad mode of the tape. Single-threaded: record and differentiate on one thread.
/// (Not `Autograd.isGradEnabled`: a type named like its module would break module-qualified
/// calls such as `Autograd.relu(x)` from types that have a member `relu`.)
public enum GradMode {
    /// Whether ops record a graph (true unless inside `withNoGrad`).
    public nonisolated(unsafe) static var isEnabled = true
}

/// Runs `body` without recording a graph (sampling, evaluation), then restores the mode.
public func withNoGrad<T>(_ body: () throws -> T) rethrows -> T {
    let saved = GradMode.isEnabled
    GradMode.isEnabled = false
    defer { GradMode.isEnabled = saved }
    return try body()
}

/// A node of the define-by-run graph: a value, and for op outputs the parents and a pullback.
///
/// A parameter is a leaf with `requiresGrad = true`; an input made with `requiresGrad: true`
/// gets a gradient too (d D / d x for gradient penalties). An op records its node only when
/// grad mode is on and some parent requires grad; otherwise it returns a constant.
public final class Variable {
    public var value: Tensor
    /// The accumulated gradient of a leaf after `backward` (nil until then, or after `zeroGrad`).
    public var grad: Tensor?
    public let requiresGrad: Bool
    public var name: String?

    /// The op's inputs (empty for a leaf).
    let parents: [Variable]
    /// Pushes the gradient `g` of this node to its parents with `accumulate(_:_:)`. It is written
    /// in Variable ops, so under grad mode (createGraph) the gradient is itself differentiable.
    let pullback: ((_ node: Variable, _ g: Variable) -> Void)?

    // Scratch state of one backward pass.
    var pending: Variable?
    var visit: UInt64 = 0
    var needsGrad = false

    public init(_ value: Tensor, requiresGrad: Bool = false, name: String? = nil) {
        self.value = value
        self.requiresGrad = requiresGrad
        self.name = name
        self.parents = []
        self.pullback = nil
    }

    init(value: Tensor, parents: [Variable], pullback: @escaping (Variable, Variable) -> Void) {
        self.value = value
        self.requiresGrad = true
        self.parents = parents
        self.pullback = pullback
    }

    public var shape: [Int] { value.shape }
    /// True for parameters, inputs and constants; false for op outputs.
    public var isLeaf: Bool { pullback == nil }
    /// The single value of a one-element variable (a loss).
    public var scalar: Float { value.scalar }
    /// The same value as a constant: no graph, no gradient (stop-gradient).
    public var detached: Variable { Variable(value) }
}

extension Variable: CustomStringConvertible {
    public var description: String {
        "Variable(\(name ?? "-"), shape: \(shape), requiresGrad: \(requiresGrad), \(value.storage.prefix(6)))"
    }
}

// MARK: Recording

@inline(__always) func record(_ value: Tensor, _ a: Variable,
                              _ pullback: @escaping (Variable, Variable) -> Void) -> Variable {
    if GradMode.isEnabled && a.requiresGrad { return Variable(value: value, parents: [a], pullback: pullback) }
    return Variable(value)
}

@inline(__always) func record(_ value: Tensor, _ a: Variable, _ b: Variable,
                              _ pullback: @escaping (Variable, Variable) -> Void) -> Variable {
    if GradMode.isEnabled && (a.requiresGrad || b.requiresGrad) {
        return Variable(value: value, parents: [a, b], pullback: pullback)
    }
    return Variable(value)
}

@inline(__always) func record(_ value: Tensor, _ parents: [Variable],
                              _ pullback: @escaping (Variable, Variable) -> Void) -> Variable {
    if GradMode.isEnabled && parents.contains(where: { $0.requiresGrad }) {
        return Variable(value: value, parents: parents, pullback: pullback)
    }
    return Variable(value)
}

/// Adds `g` to the gradient pending at `p` in the running backward pass (skipped when no
/// gradient is wanted there). Under grad mode the sum is itself recorded.
@inline(__always) func accumulate(_ p: Variable, _ g: Variable) {
    guard p.needsGrad else { return }
    assert(g.shape == p.shape, "pullback produced shape \(g.shape) for a variable of shape \(p.shape)")
    if let existing = p.pending {
        p.pending = GradMode.isEnabled ? existing + g : Variable(existing.value + g.value)
    } else {
        p.pending = g
    }
}
