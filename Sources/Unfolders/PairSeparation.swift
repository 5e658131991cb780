import Foundation
import Physics
import Tensor

/// The smallest angular separation Delta R = sqrt(Delta eta^2 + Delta phi^2) of a parton pair in
/// the training sample. Two quarks closer than the jet radius are clustered into one jet, so a
/// paired sample with two reconstructed jets holds no pair below that separation (R = 0.6 for the
/// built-in detector): the true posterior p(x_p | x_d) vanishes there. A flow puts a little
/// probability across this hard edge (measured 0.3-0.4 % of the zw-detector samples), where the
/// derived pTs grow as 1/sqrt(cosh Delta eta - cos Delta phi); part of `TrainingSupport`.
public struct PairSeparation: Codable, Equatable, Sendable {
    public var first: String
    public var second: String
    /// Smallest Delta R in the training sample.
    public var minimum: Double

    /// Below this a training sample shows no gap (e.g. no jet clustering between the partons).
    public static let smallestGap = 0.05

    /// The separation of `first` and `second` in `block`; nil if their (eta, phi) are missing or
    /// the training pairs come closer than `smallestGap`.
    public static func fit(_ block: EventSample.Block, first: String, second: String) -> PairSeparation? {
        let separation = PairSeparation(first: first, second: second, minimum: 0)
        guard let columns = separation.indices(block.columns), block.rows > 0 else { return nil }
        let minimum = (0..<block.rows).map { separation.deltaR(block.values, row: $0 * block.columns.count, columns) }.min()!
        return minimum >= smallestGap ? PairSeparation(first: first, second: second, minimum: minimum) : nil
    }

    /// Indices of eta and phi of `first` then `second`, or nil.
    func indices(_ columns: [String]) -> [Int]? {
        let found = ["eta_\(first)", "phi_\(first)", "eta_\(second)", "phi_\(second)"].compactMap { columns.firstIndex(of: $0) }
        return found.count == 4 ? found : nil
    }

    func deltaR(_ v: [Double], row: Int, _ c: [Int]) -> Double {
        let dEta = v[row + c[0]] - v[row + c[2]], dPhi = FourMomentum.wrapPhi(v[row + c[1]] - v[row + c[3]])
        return (dEta * dEta + dPhi * dPhi).squareRoot()
    }

    /// Rows of `block` whose pair lies closer than `minimum`.
    public func violations(_ block: EventSample.Block) throws -> [Int] {
        guard let c = indices(block.columns) else {
            throw RefoldError.value("pair separation", expected: "eta and phi of \(first) and \(second)", actual: block.columns)
        }
        let d = block.columns.count
        return (0..<block.rows).filter { deltaR(block.values, row: $0 * d, c) < minimum }
    }
}
