import Foundation
import Physics
import Tensor

/// The mass of a parton pair as a network coordinate: a narrow resonance (the W's 2.1 GeV
/// Breit-Wigner in m_jj) is one sharp 1D density in this coordinate, while in (pT, eta, phi) per
/// parton it is a thin curved shell that a flow trained for minutes smears over ~8 GeV. The
/// network models both partons' (eta, phi), one pT and g(m) in place of the other pT; for massless
/// partons m^2 = 2 pT_a pT_b (cosh(Delta eta) - cos(Delta phi)) gives that pT back.
/// - g(m) = Phi^-1(F(m)), F the training sample's CDF (piecewise linear between its quantiles):
///   the mass marginal becomes a unit Gaussian whatever the resonance shape and mass window.
/// - The pair is pT-ordered in the data (`leading` first); a sample whose derived pT breaks the
///   order is relabelled, which leaves m, the event and every pair observable unchanged.
public struct PairMassCoordinate: Codable, Equatable, Sendable {
    /// The partons, leading (higher pT) first.
    public var leading: String
    public var subleading: String
    /// Whose pT the mass replaces (the other pT is modelled).
    public var replacesLeading: Bool
    /// Name of the physical mass (e.g. m_jj).
    public var column: String
    /// g(m) = Phi^-1(F(m)), F the training masses' CDF.
    public var massMap: QuantileGaussianisation


    /// The network coordinate's name.
    public var networkColumn: String { "g(\(column))" }
    /// The column the mass replaces.
    public var replacedColumn: String { "pT_\(replacesLeading ? leading : subleading)" }

    /// The coordinate for a pT-ordered pair of `block`, its map fitted on the block's masses; nil
    /// if the block lacks one of their massless (pT, eta, phi).
    public static func fit(_ block: EventSample.Block, leading: String, subleading: String, replacesLeading: Bool,
                           column: String) -> PairMassCoordinate? {
        var coordinate = PairMassCoordinate(leading: leading, subleading: subleading, replacesLeading: replacesLeading,
                                            column: column, massMap: QuantileGaussianisation(fitting: [0, 1]))
        guard let (a, b) = coordinate.indices(block.columns, derivedPT: coordinate.replacedColumn), block.rows >= 4 else { return nil }
        coordinate.massMap = QuantileGaussianisation(fitting: (0..<block.rows).map { i in
            coordinate.mass(block.values, row: i * block.columns.count, a: a, b: b)
        })
        return coordinate
    }

    /// Indices of (pT, eta, phi) of the leading (a) and subleading (b) parton in `columns`, the
    /// derived pT's column named `derivedPT`; nil if one is missing or the partons have mass
    /// columns (the massless formula would not hold).
    func indices(_ columns: [String], derivedPT: String) -> (a: [Int], b: [Int])? {
        guard !columns.contains("m_\(leading)"), !columns.contains("m_\(subleading)") else { return nil }
        let pTa = replacesLeading ? derivedPT : "pT_\(leading)", pTb = replacesLeading ? "pT_\(subleading)" : derivedPT
        let a = [pTa, "eta_\(leading)", "phi_\(leading)"].compactMap { columns.firstIndex(of: $0) }
        let b = [pTb, "eta_\(subleading)", "phi_\(subleading)"].compactMap { columns.firstIndex(of: $0) }
        return a.count == 3 && b.count == 3 ? (a, b) : nil
    }

    /// cosh(Delta eta) - cos(Delta phi) of the pair in one row.
    private func angular(_ v: [Double], row: Int, a: [Int], b: [Int]) -> Double {
        cosh(v[row + a[1]] - v[row + b[1]]) - cos(v[row + a[2]] - v[row + b[2]])
    }

    private func mass(_ v: [Double], row: Int, a: [Int], b: [Int]) -> Double {
        (2 * v[row + a[0]] * v[row + b[0]] * max(angular(v, row: row, a: a, b: b), 0)).squareRoot()
    }


    /// The replaced pT -> g(m), same row order; the column is renamed `networkColumn`.
    public func forward(_ block: EventSample.Block) throws -> EventSample.Block {
        guard let (a, b) = indices(block.columns, derivedPT: replacedColumn) else {
            throw RefoldError.value("pair mass \(column)", expected: "massless (pT, eta, phi) of \(leading) and \(subleading)", actual: block.columns)
        }
        var values = block.values
        let d = block.columns.count, derived = replacesLeading ? a[0] : b[0]
        for i in 0..<block.rows { values[i * d + derived] = massMap.gaussianised(mass(block.values, row: i * d, a: a, b: b)) }
        var columns = block.columns
        columns[derived] = networkColumn
        return EventSample.Block(columns: columns, rows: block.rows, values: values)
    }

    /// g(m) -> pT = m^2 / (2 pT_other (cosh(Delta eta) - cos(Delta phi))), then pT-ordering.
    public func inverse(_ block: EventSample.Block) throws -> EventSample.Block {
        guard let (a, b) = indices(block.columns, derivedPT: networkColumn) else {
            throw RefoldError.value("pair mass \(column)", expected: "\(networkColumn) and the other (pT, eta, phi) of \(leading), \(subleading)",
                                    actual: block.columns)
        }
        var values = block.values
        let d = block.columns.count
        let (derived, kept) = replacesLeading ? (a[0], b[0]) : (b[0], a[0])
        for i in 0..<block.rows {
            let row = i * d
            let m = massMap.value(gaussianised: values[row + derived])
            values[row + derived] = m * m / (2 * max(values[row + kept], 1e-9) * max(angular(values, row: row, a: a, b: b), 1e-12))
            if values[row + b[0]] > values[row + a[0]] {
                for (ja, jb) in zip(a, b) { values.swapAt(row + ja, row + jb) }
            }
        }
        var columns = block.columns
        columns[derived] = replacedColumn
        return EventSample.Block(columns: columns, rows: block.rows, values: values)
    }
}
