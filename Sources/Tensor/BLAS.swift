import CBLAS
import Foundation

/// BLAS configuration: the thread count of the BLIS sgemm.
public enum BLAS {
    /// Sets the number of BLAS threads (BLIS, OpenMP); default 2.
    public static func setThreads(_ n: Int) {
        precondition(n >= 1, "BLAS.setThreads: expected n >= 1, got \(n)")
        threads = n
        refold_blas_set_threads(Int32(n))
        current = Int32(n)
    }

    /// Runs `body` with `n` BLAS threads and restores the count it found, also when `body` throws.
    public static func withThreads<T>(_ n: Int, _ body: () throws -> T) rethrows -> T {
        let previous = threads
        setThreads(n)
        defer { setThreads(previous) }
        return try body()
    }

    /// The thread count last set: 2, or the environment's `REFOLD_BLAS_THREADS`. On a CPU shared
    /// with other jobs use 1: BLIS splits each product statically, so one descheduled thread
    /// stalls the product for a whole time slice (measured 20x slower under a load of 4 on 2 cores).
    public private(set) nonisolated(unsafe) static var threads: Int = {
        Allocator.keepFreedMemory()
        let n = ProcessInfo.processInfo.environment["REFOLD_BLAS_THREADS"].flatMap(Int.init).map { max($0, 1) } ?? 2
        refold_blas_set_threads(Int32(n))
        return n
    }()

    /// Products with fewer multiply-adds than this run on one thread: for small shapes the
    /// OpenMP fork/join costs more than the second core gains (measured by `refold bench`).
    public nonisolated(unsafe) static var singleThreadBelow: Int = 1 << 22

    nonisolated(unsafe) static var current: Int32 = 0
    @inline(__always) static func prepare(work: Int) {
        _ = threads
        let want = Int32(work < singleThreadBelow ? 1 : threads)
        if want != current { refold_blas_set_threads(want); current = want }
    }
}

/// C = alpha op(A) op(B) + beta C, written into `c` (which must already have shape [m, n]):
/// the accumulate form (beta = 1) lets backward passes sum gradients without allocating.
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false,
                   into c: inout Tensor, alpha: Float = 1, beta: Float = 0) {
    precondition(a.rank == 2 && b.rank == 2, "matmul: expected matrices, got shapes \(a.shape) and \(b.shape)")
    let m = transposeA ? a.shape[1] : a.shape[0]
    let k = transposeA ? a.shape[0] : a.shape[1]
    let kb = transposeB ? b.shape[1] : b.shape[0]
    let n = transposeB ? b.shape[0] : b.shape[1]
    precondition(k == kb, "matmul: inner dimensions differ: \(a.shape)\(transposeA ? "^T" : "") x \(b.shape)\(transposeB ? "^T" : "")")
    precondition(c.shape == [m, n], "matmul(into:): expected output shape \([m, n]), got \(c.shape)")
    if m == 0 || n == 0 { return }
    BLAS.prepare(work: m * n * k)
    let lda = Int32(a.shape[1]), ldb = Int32(b.shape[1]), ldc = Int32(n)
    a.storage.withUnsafeBufferPointer { pa in
        b.storage.withUnsafeBufferPointer { pb in
            c.storage.withUnsafeMutableBufferPointer { pc in
                cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                            Int32(m), Int32(n), Int32(k), alpha, pa.baseAddress, lda, pb.baseAddress, ldb,
                            beta, pc.baseAddress, ldc)
            }
        }
    }
}

/// op(A) op(B) as a new matrix (sgemm, BLIS).
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    precondition(a.rank == 2 && b.rank == 2, "matmul: expected matrices, got shapes \(a.shape) and \(b.shape)")
    let m = transposeA ? a.shape[1] : a.shape[0]
    let n = transposeB ? b.shape[0] : b.shape[1]
    let k = transposeA ? a.shape[0] : a.shape[1]
    var c: Tensor
    // With beta = 0 BLIS overwrites C without reading it: no zero fill needed.
    if k == 0 { c = Tensor(shape: [m, n]) } else { c = Tensor(shape: [m, n]) { _ in } }
    matmul(a, b, transposeA: transposeA, transposeB: transposeB, into: &c)
    return c
}

/// The transpose of a matrix.
public func transpose(_ a: Tensor) -> Tensor {
    precondition(a.rank == 2, "transpose: expected a matrix, got shape \(a.shape)")
    let r = a.shape[0], c = a.shape[1]
    return Tensor(shape: [c, r]) { out in
        a.storage.withUnsafeBufferPointer { x in
            for i in 0..<r { for j in 0..<c { out[j * r + i] = x[i * c + j] } }
        }
    }
}
