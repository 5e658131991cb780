import Foundation
import Physics
import Tensor

/// The parton-level phase space the training sample populates: per modelled coordinate the
/// [min, max] of the training events (azimuths excepted), and the quark pair's smallest
/// separation (`PairSeparation`). The true posterior p(x_p | x_d) has no weight outside it (up to
/// the training sample's own extremes); a flow's Gaussian tails put a little there, e.g. pT_q2 of
/// a few GeV behind a 25 GeV jet. Unfolding redraws such samples, i.e. samples the learned
/// posterior restricted to the training support (`UnfoldingModel.unfold`).
public struct TrainingSupport: Codable, Equatable, Sendable {
    public struct Range: Codable, Equatable, Sendable {
        public var column: String
        public var lower: Double
        public var upper: Double
    }

    public var ranges: [Range]
    public var pair: PairSeparation?

    /// Ranges of `columns` of `block` (names starting with "phi" are periodic and skipped) and the
    /// separation of the pair `first`, `second` if the block has one with a gap.
    public static func fit(_ block: EventSample.Block, columns: [String], first: String, second: String) -> TrainingSupport {
        let ranges = columns.filter { !$0.hasPrefix("phi") }.compactMap { name -> Range? in
            guard let j = block.index(of: name), block.rows > 0 else { return nil }
            let values = block.column(j)
            return Range(column: name, lower: values.min()!, upper: values.max()!)
        }
        return TrainingSupport(ranges: ranges, pair: PairSeparation.fit(block, first: first, second: second))
    }

    /// Rows of `block` outside the support, ascending.
    public func violations(_ block: EventSample.Block) throws -> [Int] {
        let d = block.columns.count
        let indexed = try ranges.map { range -> (Int, Range) in
            guard let j = block.index(of: range.column) else {
                throw RefoldError.value("training support", expected: "column \(range.column)", actual: block.columns)
            }
            return (j, range)
        }
        var outside = Set(try pair?.violations(block) ?? [])
        for i in 0..<block.rows {
            for (j, range) in indexed where !(block.values[i * d + j] >= range.lower && block.values[i * d + j] <= range.upper) {
                outside.insert(i)
                break
            }
        }
        return outside.sorted()
    }
}
