import Foundation

// sin, cos and cosh with their derivatives, for differentiable invariant masses of massless
// partons: m^2 = 2 pT1 pT2 (cosh(Delta eta) - cos(Delta phi)).

/// sin, derivative cos(x).
public func sin(_ x: Variable) -> Variable {
    record(x.value.map { Foundation.sin($0) }, x) { node, g in accumulate(node.parents[0], g * cos(node.parents[0])) }
}

/// cos, derivative -sin(x).
public func cos(_ x: Variable) -> Variable {
    record(x.value.map { Foundation.cos($0) }, x) { node, g in accumulate(node.parents[0], -(g * sin(node.parents[0]))) }
}

/// cosh, derivative sinh(x).
public func cosh(_ x: Variable) -> Variable {
    record(x.value.map { Foundation.cosh($0) }, x) { node, g in accumulate(node.parents[0], g * sinh(node.parents[0])) }
}

/// sinh, derivative cosh(x).
public func sinh(_ x: Variable) -> Variable {
    record(x.value.map { Foundation.sinh($0) }, x) { node, g in accumulate(node.parents[0], g * cosh(node.parents[0])) }
}
