import Foundation

/// How the second operand of a binary elementwise op lines up with the first.
///
/// Shapes: `same`; a row vector [C] or [1, C] against [R, C]; a column vector [R, 1] against
/// [R, C]; a single value ([1], [1, 1]) against anything. Either side may be the smaller one.
public enum Broadcast: Equatable {
    case same, rowB, columnB, scalarB, rowA, columnA, scalarA

    /// The broadcast of `a` against `b` and the result shape, or nil when they do not line up.
    public static func of(_ a: [Int], _ b: [Int]) -> (Broadcast, [Int])? {
        if a == b { return (.same, a) }
        let ca = a.reduce(1, *), cb = b.reduce(1, *)
        if cb == 1 { return (.scalarB, a) }
        if ca == 1 { return (.scalarA, b) }
        if a.count == 2 {
            if (b == [a[1]] || b == [1, a[1]]) { return (.rowB, a) }
            if b == [a[0], 1] { return (.columnB, a) }
        }
        if b.count == 2 {
            if (a == [b[1]] || a == [1, b[1]]) { return (.rowA, b) }
            if a == [b[0], 1] { return (.columnA, b) }
        }
        return nil
    }
}

extension Tensor {
    /// Elementwise `op(a, b)` with broadcasting (see `Broadcast`).
    @inline(__always)
    static func zip(_ a: Tensor, _ b: Tensor, _ name: String, _ op: (Float, Float) -> Float) -> Tensor {
        guard let (mode, shape) = Broadcast.of(a.shape, b.shape) else {
            preconditionFailure("\(name): shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        let columns = shape.count >= 2 ? shape[shape.count - 1] : 1
        return Tensor(shape: shape) { out in
            a.storage.withUnsafeBufferPointer { x in
                b.storage.withUnsafeBufferPointer { y in
                    let n = out.count
                    switch mode {
                    case .same: for i in 0..<n { out[i] = op(x[i], y[i]) }
                    case .scalarB: let s = y[0]; for i in 0..<n { out[i] = op(x[i], s) }
                    case .scalarA: let s = x[0]; for i in 0..<n { out[i] = op(s, y[i]) }
                    case .rowB:
                        var base = 0
                        while base < n { for j in 0..<columns { out[base + j] = op(x[base + j], y[j]) }; base += columns }
                    case .rowA:
                        var base = 0
                        while base < n { for j in 0..<columns { out[base + j] = op(x[j], y[base + j]) }; base += columns }
                    case .columnB:
                        for r in 0..<(n / Swift.max(columns, 1)) {
                            let s = y[r], base = r * columns
                            for j in 0..<columns { out[base + j] = op(x[base + j], s) }
                        }
                    case .columnA:
                        for r in 0..<(n / Swift.max(columns, 1)) {
                            let s = x[r], base = r * columns
                            for j in 0..<columns { out[base + j] = op(s, y[base + j]) }
                        }
                    }
                }
            }
        }
    }

    /// `op(x)` for every element.
    @inlinable
    public func map(_ op: (Float) -> Float) -> Tensor {
        Tensor(shape: shape) { out in
            storage.withUnsafeBufferPointer { x in for i in 0..<out.count { out[i] = op(x[i]) } }
        }
    }

    /// `op(self, other)` elementwise over two tensors of the same shape.
    @inlinable
    public func zipMap(_ other: Tensor, _ op: (Float, Float) -> Float) -> Tensor {
        precondition(shape == other.shape, "zipMap: shapes \(shape) and \(other.shape) differ")
        return Tensor(shape: shape) { out in
            storage.withUnsafeBufferPointer { x in
                other.storage.withUnsafeBufferPointer { y in for i in 0..<out.count { out[i] = op(x[i], y[i]) } }
            }
        }
    }

    /// self += other (same shape), in place.
    public mutating func addInPlace(_ other: Tensor) {
        precondition(shape == other.shape, "addInPlace: shapes \(shape) and \(other.shape) differ")
        other.storage.withUnsafeBufferPointer { y in
            storage.withUnsafeMutableBufferPointer { x in for i in 0..<x.count { x[i] += y[i] } }
        }
    }

    /// self *= s, in place.
    public mutating func scaleInPlace(_ s: Float) {
        storage.withUnsafeMutableBufferPointer { x in for i in 0..<x.count { x[i] *= s } }
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { zip(a, b, "+") { $0 + $1 } }
    public static func - (a: Tensor, b: Tensor) -> Tensor { zip(a, b, "-") { $0 - $1 } }
    public static func * (a: Tensor, b: Tensor) -> Tensor { zip(a, b, "*") { $0 * $1 } }
    public static func / (a: Tensor, b: Tensor) -> Tensor { zip(a, b, "/") { $0 / $1 } }

    public static func + (a: Tensor, s: Float) -> Tensor { a.map { $0 + s } }
    public static func - (a: Tensor, s: Float) -> Tensor { a.map { $0 - s } }
    public static func * (a: Tensor, s: Float) -> Tensor { a.map { $0 * s } }
    public static func / (a: Tensor, s: Float) -> Tensor { a.map { $0 / s } }
    public static func + (s: Float, a: Tensor) -> Tensor { a.map { s + $0 } }
    public static func - (s: Float, a: Tensor) -> Tensor { a.map { s - $0 } }
    public static func * (s: Float, a: Tensor) -> Tensor { a.map { s * $0 } }
    public static func / (s: Float, a: Tensor) -> Tensor { a.map { s / $0 } }
    public static prefix func - (a: Tensor) -> Tensor { a.map { -$0 } }

    /// s * self + shift in one pass.
    public func affine(scale s: Float, shift: Float) -> Tensor { map { s * $0 + shift } }
}

// MARK: Unary functions

/// Logistic sigmoid 1 / (1 + e^-x), without overflow for large |x|.
@inline(__always) public func sigmoid(_ x: Float) -> Float {
    x >= 0 ? 1 / (1 + Foundation.exp(-x)) : { let e = Foundation.exp(x); return e / (1 + e) }()
}

/// softplus log(1 + e^x) = max(x, 0) + log1p(e^-|x|): stable for every x.
@inline(__always) public func softplus(_ x: Float) -> Float {
    Swift.max(x, 0) + Foundation.log1p(Foundation.exp(-Swift.abs(x)))
}

public func exp(_ t: Tensor) -> Tensor { t.map { Foundation.exp($0) } }
public func log(_ t: Tensor) -> Tensor { t.map { Foundation.log($0) } }
public func tanh(_ t: Tensor) -> Tensor { t.map { Foundation.tanh($0) } }
public func atan(_ t: Tensor) -> Tensor { t.map { Foundation.atan($0) } }
public func sigmoid(_ t: Tensor) -> Tensor { t.map { sigmoid($0) } }
public func softplus(_ t: Tensor) -> Tensor { t.map { softplus($0) } }
public func relu(_ t: Tensor) -> Tensor { t.map { Swift.max($0, 0) } }
/// x for x > 0, slope * x otherwise.
public func leakyRelu(_ t: Tensor, slope: Float) -> Tensor { t.map { $0 > 0 ? $0 : slope * $0 } }
/// x for x > 0, alpha (e^x - 1) otherwise.
public func elu(_ t: Tensor, alpha: Float = 1) -> Tensor { t.map { $0 > 0 ? $0 : alpha * Foundation.expm1($0) } }
public func square(_ t: Tensor) -> Tensor { t.map { $0 * $0 } }
public func sqrt(_ t: Tensor) -> Tensor { t.map { $0.squareRoot() } }
public func abs(_ t: Tensor) -> Tensor { t.map { Swift.abs($0) } }
/// min(max(x, low), high).
public func clamp(_ t: Tensor, min low: Float, max high: Float) -> Tensor { t.map { Swift.min(Swift.max($0, low), high) } }
