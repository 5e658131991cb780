import CGSL

/// A seedable stream of random numbers: GSL's Mersenne twister (mt19937) underneath.
///
/// A whole run is reproducible from one integer: the root stream is `RNGStream(seed:)`, and
/// every component derives its own independent stream with `child(_:)` (by name, for example
/// `"init"`, `"data"`, `"epoch"`) or `child(index:)` (per epoch, per weight draw). Child seeds
/// are a SplitMix64 hash of the parent seed and the label, so deriving one child never advances
/// the parent and the order in which children are made does not matter.
///
/// Contract: same seed, same machine, identical numbers. Not thread-safe: give each thread its
/// own child stream.
public final class RNGStream {
    /// The 64-bit seed this stream was made from (record it in reports).
    public let seed: UInt64
    /// The GSL generator, for calling GSL's distribution functions (`gsl_ran_*`) directly.
    public let gsl: UnsafeMutablePointer<gsl_rng>

    public init(seed: UInt64) {
        self.seed = seed
        guard let generator = gsl_rng_alloc(gsl_rng_mt19937) else {
            fatalError("RNGStream: gsl_rng_alloc failed (out of memory)")
        }
        gsl = generator
        // mt19937 takes 32 bits of seed; mix all 64 bits into them first.
        gsl_rng_set(gsl, UInt(truncatingIfNeeded: RNGStream.splitMix64(seed) >> 32))
    }

    deinit { gsl_rng_free(gsl) }

    /// An independent stream for the component called `label` (deterministic, order-free).
    public func child(_ label: String) -> RNGStream {
        RNGStream(seed: RNGStream.splitMix64(seed ^ RNGStream.fnv1a(label)))
    }

    /// An independent stream number `index` (per epoch, per draw, per event block).
    public func child(index: Int) -> RNGStream {
        RNGStream(seed: RNGStream.splitMix64(seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(truncatingIfNeeded: index &+ 1)))
    }

    // MARK: Draws

    /// Uniform in [0, 1).
    @inline(__always) public func uniform() -> Double { gsl_rng_uniform(gsl) }
    /// Uniform in (0, 1): safe under a logarithm.
    @inline(__always) public func uniformPositive() -> Double { gsl_rng_uniform_pos(gsl) }
    /// Uniform in [low, high).
    @inline(__always) public func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * gsl_rng_uniform(gsl) }
    /// Standard normal (GSL's ziggurat), scaled to mean and standard deviation.
    @inline(__always) public func normal(mean: Double = 0, std: Double = 1) -> Double {
        mean + gsl_ran_gaussian_ziggurat(gsl, std)
    }
    /// Integer uniform in 0..<n (n > 0).
    @inline(__always) public func integer(below n: Int) -> Int {
        precondition(n > 0, "RNGStream.integer(below:): expected n > 0, got \(n)")
        return Int(gsl_rng_uniform_int(gsl, UInt(n)))
    }
    /// Poisson-distributed count with the given mean.
    public func poisson(mean: Double) -> Int { Int(gsl_ran_poisson(gsl, mean)) }
    /// Exponential with the given mean.
    public func exponential(mean: Double) -> Double { gsl_ran_exponential(gsl, mean) }

    /// A uniformly random permutation of 0..<n (Fisher-Yates via GSL's shuffle).
    public func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        p.withUnsafeMutableBufferPointer { buffer in
            gsl_ran_shuffle(gsl, buffer.baseAddress, n, MemoryLayout<Int>.stride)
        }
        return p
    }

    /// Fills `values` with uniform numbers in [low, high).
    public func fillUniform(_ values: inout [Float], low: Float = 0, high: Float = 1) {
        let width = Double(high - low)
        for i in values.indices { values[i] = low + Float(width * gsl_rng_uniform(gsl)) }
    }

    /// Fills `values` with normal numbers.
    public func fillNormal(_ values: inout [Float], mean: Float = 0, std: Float = 1) {
        for i in values.indices { values[i] = mean + Float(gsl_ran_gaussian_ziggurat(gsl, Double(std))) }
    }

    // MARK: Seed derivation

    /// SplitMix64 finaliser (Steele, Lea, Flood 2014): a bijective 64-bit mixer.
    @inlinable public static func splitMix64(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// FNV-1a hash of a label: stable across processes (unlike `hashValue`).
    @inlinable public static func fnv1a(_ label: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in label.utf8 { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return h
    }
}
