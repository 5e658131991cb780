/// A network part with an explicit, ordered list of named parameters (no reflection).
/// Nested modules prefix their children's names: "block0.subnet.layer0.weight".
public protocol Module: AnyObject {
    var parameters: [(name: String, variable: Variable)] { get }
}

extension Module {
    /// The parameter variables alone, in order.
    public var parameterVariables: [Variable] { parameters.map(\.variable) }
    /// The number of scalar parameters.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.variable.value.count } }
    /// Clears every parameter gradient.
    public func zeroGrad() { for p in parameters { p.variable.grad = nil } }
}

/// `module`'s parameters with names prefixed by `prefix.` (for nesting modules).
public func prefixed(_ prefix: String, _ module: Module) -> [(name: String, variable: Variable)] {
    module.parameters.map { (name: "\(prefix).\($0.name)", variable: $0.variable) }
}
