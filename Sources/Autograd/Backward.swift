/// Reverse-mode differentiation: one topological sort, one reverse pass.
///
/// Design: every pullback is written in differentiable Variable ops. First order
/// (`backward`, `gradients(createGraph: false)`) runs the pass with grad mode off, so each
/// pullback op is just its Tensor kernel (BLAS sgemm, vectorised loops) and records nothing.
/// Second order (`createGraph: true`) runs the same pullbacks with grad mode on, so the
/// gradients come back as Variables with their own graph (double backward for gradient
/// penalties). Hot backward kernels are fused ops (`maskedScale`, `tanhBackward`, ...)
/// whose own pullbacks are again Variable ops.

nonisolated(unsafe) private var passCounter: UInt64 = 0

/// Nodes reachable from `root` through variables that require grad, parents before children.
func topologicalOrder(_ root: Variable) -> [Variable] {
    passCounter &+= 1
    let mark = passCounter
    var order: [Variable] = []
    var stack: [(Variable, Int)] = [(root, 0)]
    root.visit = mark
    while let (node, next) = stack.last {
        if next < node.parents.count {
            stack[stack.count - 1].1 = next + 1
            let parent = node.parents[next]
            if parent.requiresGrad && parent.visit != mark {
                parent.visit = mark
                stack.append((parent, 0))
            }
        } else {
            order.append(node)
            stack.removeLast()
        }
    }
    return order
}

/// The reverse pass of `backward` and `gradients`: marks `needsGrad` on every node of `order`
/// (`towards` nil) or on the nodes on a path to one of `towards`, seeds the last node of `order`,
/// and hands every node that received a gradient to `visit` (which runs its pullback or keeps the
/// gradient), in reverse order, with grad mode set to `createGraph`. Its defer restores grad mode
/// and clears the marks and pending gradients, so the tape is left clean however the pass ends.
private func run(_ order: [Variable], towards inputs: [Variable]?, seed: Variable, createGraph: Bool,
                 visit: (_ node: Variable, _ gradient: Variable) -> Void) {
    let saved = GradMode.isEnabled
    defer {
        GradMode.isEnabled = saved
        for node in order { node.needsGrad = false; node.pending = nil }
        for v in inputs ?? [] { v.needsGrad = false }
    }
    if let inputs {
        for node in order { node.needsGrad = false }
        for v in inputs { v.needsGrad = true }
        for node in order where !node.needsGrad {
            node.needsGrad = node.parents.contains { $0.needsGrad && $0.requiresGrad }
        }
    } else {
        for node in order { node.needsGrad = true }
    }
    GradMode.isEnabled = createGraph
    order.last!.pending = seed
    for node in order.reversed() {
        guard let g = node.pending else { continue }
        node.pending = nil
        visit(node, g)
    }
}

/// Backpropagates a one-element `loss` (seed 1) and adds d loss / d v to `v.grad` for every
/// leaf `v` with `requiresGrad` (parameters and inputs alike).
public func backward(_ loss: Variable) {
    precondition(loss.value.count == 1, "backward: expected a one-element loss, got shape \(loss.shape)")
    guard loss.requiresGrad else { return }
    run(topologicalOrder(loss), towards: nil, seed: Variable(Tensor(shape: loss.shape, repeating: 1)), createGraph: false) { node, g in
        if let pullback = node.pullback { pullback(node, g); return }
        if node.grad == nil { node.grad = g.value } else { node.grad!.addInPlace(g.value) }
    }
}

/// d output / d v for each v in `inputs` (zeros where output does not depend on v), seeded with
/// ones for a one-element output, or with `seed` (a vector-Jacobian product). Leaves' `.grad`
/// stay untouched. With `createGraph` the result is differentiable (double backward).
public func gradients(of output: Variable, withRespectTo inputs: [Variable],
                      seed: Variable? = nil, createGraph: Bool = false) -> [Variable] {
    let seedValue = seed ?? Variable(Tensor(shape: output.shape, repeating: 1))
    precondition(seedValue.shape == output.shape, "gradients: seed shape \(seedValue.shape) differs from output shape \(output.shape)")
    guard output.requiresGrad else { return inputs.map { Variable(Tensor(shape: $0.shape)) } }
    var found: [ObjectIdentifier: Variable] = [:]
    let targets = Set(inputs.map(ObjectIdentifier.init))
    run(topologicalOrder(output), towards: inputs, seed: seedValue, createGraph: createGraph) { node, g in
        if targets.contains(ObjectIdentifier(node)) { found[ObjectIdentifier(node)] = g }
        if let pullback = node.pullback, node.parents.contains(where: { $0.needsGrad }) { pullback(node, g) }
    }
    return inputs.map { found[ObjectIdentifier($0)] ?? Variable(Tensor(shape: $0.shape)) }
}
