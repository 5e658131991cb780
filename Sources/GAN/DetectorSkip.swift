import Tensor

/// A fixed affine skip from detector-level features to parton-level features: the residual
/// generator of `GANConfig.residual` outputs x_G = skip(x_d) + G(x_d ⊕ r), so the network learns
/// the inverse detector response as a correction to the measured event instead of the whole
/// event (which extrapolates to kinematics the training sample barely holds, such as a W' peak).
///
/// Output column j is `scales[j] * x_d[sources[j]] + shifts[j]`, or 0 where `sources[j]` is nil.
/// The caller builds it from its feature maps (the GAN module knows no physics).
public struct DetectorSkip: Codable, Equatable, Sendable {
    /// Per parton-level output: the detector-level feature it starts from, or nil.
    public var sources: [Int?]
    public var scales: [Float]
    public var shifts: [Float]

    public init(sources: [Int?], scales: [Float], shifts: [Float]) throws {
        guard sources.count == scales.count, sources.count == shifts.count else {
            throw RefoldError.value("DetectorSkip", expected: "sources, scales and shifts of equal length",
                                    actual: "\(sources.count), \(scales.count), \(shifts.count)")
        }
        if let bad = sources.compactMap({ $0 }).first(where: { $0 < 0 }) {
            throw RefoldError.value("DetectorSkip source column", expected: ">= 0", actual: bad)
        }
        self.sources = sources; self.scales = scales; self.shifts = shifts
    }

    /// D_p, the outputs.
    public var partonDimension: Int { sources.count }
    /// The number of parton outputs that start from a detector feature.
    public var linkedOutputs: Int { sources.compactMap { $0 }.count }

    /// Throws unless every source column exists in a D_d-dimensional detector level and the
    /// skip has D_p outputs.
    public func check(partonDimension dp: Int, detectorDimension dd: Int) throws {
        guard sources.count == dp else {
            throw RefoldError.value("DetectorSkip outputs", expected: "\(dp) (D_p)", actual: sources.count)
        }
        if let bad = sources.compactMap({ $0 }).first(where: { $0 >= dd }) {
            throw RefoldError.value("DetectorSkip source column", expected: "< \(dd) (D_d)", actual: bad)
        }
    }

    /// skip(x_d): [N, D_p] from the detector-level features x_d [N, D_d].
    public func apply(_ detectorLevel: Tensor) -> Tensor {
        let n = detectorLevel.rows, dd = detectorLevel.columns, dp = sources.count
        var out = Tensor(shape: [n, dp], repeating: 0)
        out.storage.withUnsafeMutableBufferPointer { y in
            detectorLevel.storage.withUnsafeBufferPointer { x in
                for j in 0..<dp {
                    guard let s = sources[j] else { continue }
                    let a = scales[j], b = shifts[j]
                    for i in 0..<n { y[i * dp + j] = a * x[i * dd + s] + b }
                }
            }
        }
        return out
    }
}
