/// A dense Float32 tensor in row-major (C) order, rank 1 to 3.
///
/// Value semantics: the storage is a copy-on-write array, so passing a tensor around copies
/// nothing until one side writes. Kernels that produce a new tensor allocate its storage once;
/// in-place variants (`…InPlace`, `…(into:)`) reuse a caller's buffer in hot loops.
///
/// Matrices are [rows, columns] = [batch, features]. Broadcasting (see `Broadcast`) knows a row
/// vector ([C] or [1, C]), a column vector ([R, 1]) and a single value ([1] or [1, 1]).
public struct Tensor: Equatable, CustomStringConvertible {
    public private(set) var shape: [Int]
    public var storage: [Float]

    /// A tensor of the given shape filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        precondition(!shape.isEmpty && shape.count <= 3 && shape.allSatisfy { $0 >= 0 },
                     "Tensor: expected rank 1-3 with non-negative extents, got shape \(shape)")
        self.shape = shape
        self.storage = [Float](repeating: value, count: shape.reduce(1, *))
    }

    /// A tensor of the given shape over `storage` (row-major); the count must match.
    public init(shape: [Int], storage: [Float]) {
        precondition(!shape.isEmpty && shape.count <= 3, "Tensor: expected rank 1-3, got shape \(shape)")
        precondition(shape.reduce(1, *) == storage.count,
                     "Tensor: shape \(shape) needs \(shape.reduce(1, *)) values, got \(storage.count)")
        self.shape = shape
        self.storage = storage
    }

    /// A tensor whose every element is written by `initializer` (no zero fill first).
    /// The closure must write all `count` elements.
    public init(shape: [Int], initializingWith initializer: (UnsafeMutableBufferPointer<Float>) -> Void) {
        precondition(!shape.isEmpty && shape.count <= 3, "Tensor: expected rank 1-3, got shape \(shape)")
        let count = shape.reduce(1, *)
        self.shape = shape
        self.storage = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            initializer(UnsafeMutableBufferPointer(rebasing: buffer[0..<count]))
            initialized = count
        }
    }

    /// A matrix from rows of equal length.
    public init(rows: [[Float]]) {
        let columns = rows.first?.count ?? 0
        precondition(rows.allSatisfy { $0.count == columns }, "Tensor(rows:): rows of unequal length")
        self.init(shape: [rows.count, columns], storage: rows.flatMap { $0 })
    }

    /// A single value, shape [1].
    public init(scalar: Float) { self.init(shape: [1], storage: [scalar]) }

    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape) }
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 1) }

    /// Uniform entries in [low, high) from `rng`.
    public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1, rng: RNGStream) -> Tensor {
        var t = Tensor(shape: shape)
        rng.fillUniform(&t.storage, low: low, high: high)
        return t
    }

    /// Normal entries from `rng`.
    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1, rng: RNGStream) -> Tensor {
        var t = Tensor(shape: shape)
        rng.fillNormal(&t.storage, mean: mean, std: std)
        return t
    }

    public var rank: Int { shape.count }
    public var count: Int { storage.count }
    /// Rows of a matrix (the batch axis); the length of a vector.
    public var rows: Int { shape[0] }
    /// Columns of a matrix (the feature axis); 1 for a vector.
    public var columns: Int { shape.count >= 2 ? shape[shape.count - 1] : 1 }
    /// The single value of a one-element tensor.
    public var scalar: Float {
        precondition(count == 1, "Tensor.scalar: expected one element, got shape \(shape)")
        return storage[0]
    }

    /// Element (i, j) of a matrix.
    @inlinable public subscript(i: Int, j: Int) -> Float {
        get { storage[i * shape[1] + j] }
        set { storage[i * shape[1] + j] = newValue }
    }

    /// The same values under another shape with the same element count (no copy).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count, "reshaped: shape \(newShape) does not hold \(count) values (shape \(shape))")
        return Tensor(shape: newShape, storage: storage)
    }

    /// Reshapes in place (same element count).
    public mutating func reshape(_ newShape: [Int]) {
        precondition(newShape.reduce(1, *) == count, "reshape: shape \(newShape) does not hold \(count) values (shape \(shape))")
        shape = newShape
    }

    public var description: String { "Tensor(shape: \(shape), \(storage.prefix(8))\(count > 8 ? "…" : ""))" }
}
