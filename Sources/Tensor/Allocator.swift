#if os(Linux)
/// glibc's mallopt (malloc.h is not part of the Glibc module).
@_silgen_name("mallopt") private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
private let mTrimThreshold: Int32 = -1, mMmapThreshold: Int32 = -3
#endif

/// Process-wide allocator settings for training loops.
public enum Allocator {
    /// Keeps freed tensor buffers in the heap (glibc: no mmap for blocks below 256 MB, no
    /// trimming of the heap top), so the temporaries of one training step reuse the pages of
    /// the last instead of faulting fresh zeroed pages in from the kernel (measured: 20 % of a
    /// step). Idempotent; called on the first matrix product.
    public static func keepFreedMemory() {
        _ = configured
    }

    private static let configured: Bool = {
        #if os(Linux)
        _ = glibcMallopt(mMmapThreshold, 256 << 20)
        _ = glibcMallopt(mTrimThreshold, Int32.max)
        #endif
        return true
    }()
}
