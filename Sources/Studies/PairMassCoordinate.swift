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
/// - With `modelsRatio` the other pT is replaced too, by u = ln ln(pT_lead / pT_sub): both pTs
///   follow from (m, u, angles), pT_lead = m / sqrt(2 rho A) and pT_sub = rho pT_lead with
///   rho = exp(-e^u) <= 1, A = cosh(Delta eta) - cos(Delta phi). The ordering is then built in: the
///   modelled density has no edge at pT_lead = pT_sub (u -> -inf) and no sample is relabelled.
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
    /// The other pT is replaced by ln ln(pT_lead / pT_sub) (nil or false: it is modelled as it is).
    public var modelsRatio: Bool?

    /// Smallest ln(pT_lead / pT_sub) kept (equal pTs would map to -inf).
    static let smallestLogRatio = 1e-12

    /// The network coordinate's name.
    public var networkColumn: String { "g(\(column))" }
    /// The column the mass replaces.
    public var replacedColumn: String { "pT_\(replacesLeading ? leading : subleading)" }
    /// The name of the ratio coordinate (`modelsRatio`).
    public var ratioColumn: String { "lnln(pT_\(leading)/pT_\(subleading))" }
    /// The other pT's column in the physical and in the network coordinates.
    private var keptColumn: String { "pT_\(replacesLeading ? subleading : leading)" }
    private var keptNetworkColumn: String { modelsRatio == true ? ratioColumn : keptColumn }

    /// The coordinate for a pT-ordered pair of `block`, its map fitted on the block's masses; nil
    /// if the block lacks one of their massless (pT, eta, phi).
    public static func fit(_ block: EventSample.Block, leading: String, subleading: String, replacesLeading: Bool,
                           column: String, modelsRatio: Bool = false) -> PairMassCoordinate? {
        var coordinate = PairMassCoordinate(leading: leading, subleading: subleading, replacesLeading: replacesLeading,
                                            column: column, massMap: QuantileGaussianisation(fitting: [0, 1]),
                                            modelsRatio: modelsRatio ? true : nil)
        guard let (a, b) = coordinate.indices(block.columns, derived: coordinate.replacedColumn, kept: coordinate.keptColumn),
              block.rows >= 4 else { return nil }
        coordinate.massMap = QuantileGaussianisation(fitting: (0..<block.rows).map { i in
            coordinate.mass(block.values, row: i * block.columns.count, a: a, b: b)
        })
        return coordinate
    }

    /// Indices of (pT, eta, phi) of the leading (a) and subleading (b) parton in `columns`, the
    /// derived pT's column named `derived` and the other's `kept`; nil if one is missing or the
    /// partons have mass columns (the massless formula would not hold).
    func indices(_ columns: [String], derived: String, kept: String) -> (a: [Int], b: [Int])? {
        guard !columns.contains("m_\(leading)"), !columns.contains("m_\(subleading)") else { return nil }
        let pTa = replacesLeading ? derived : kept, pTb = replacesLeading ? kept : derived
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


    /// The replaced pT -> g(m) (and with `modelsRatio` the other -> u), same row order; the
    /// columns are renamed `networkColumn` (and `ratioColumn`).
    public func forward(_ block: EventSample.Block) throws -> EventSample.Block {
        guard let (a, b) = indices(block.columns, derived: replacedColumn, kept: keptColumn) else {
            throw RefoldError.value("pair mass \(column)", expected: "massless (pT, eta, phi) of \(leading) and \(subleading)", actual: block.columns)
        }
        var values = block.values
        let d = block.columns.count
        let (derived, kept) = replacesLeading ? (a[0], b[0]) : (b[0], a[0])
        for i in 0..<block.rows {
            let row = i * d
            values[row + derived] = massMap.gaussianised(mass(block.values, row: row, a: a, b: b))
            if modelsRatio == true {
                let logRatio = log(max(block.values[row + a[0]], 1e-300) / max(block.values[row + b[0]], 1e-300))
                values[row + kept] = log(max(logRatio, Self.smallestLogRatio))
            }
        }
        var columns = block.columns
        columns[derived] = networkColumn
        columns[kept] = keptNetworkColumn
        return EventSample.Block(columns: columns, rows: block.rows, values: values)
    }

    /// g(m) -> pT = m^2 / (2 pT_other (cosh(Delta eta) - cos(Delta phi))), then pT-ordering; with
    /// `modelsRatio` (g(m), u) -> both pTs, ordered by construction.
    public func inverse(_ block: EventSample.Block) throws -> EventSample.Block {
        guard let (a, b) = indices(block.columns, derived: networkColumn, kept: keptNetworkColumn) else {
            throw RefoldError.value("pair mass \(column)", expected: "\(networkColumn), \(keptNetworkColumn) and (eta, phi) of \(leading), \(subleading)",
                                    actual: block.columns)
        }
        var values = block.values
        let d = block.columns.count
        let (derived, kept) = replacesLeading ? (a[0], b[0]) : (b[0], a[0])
        for i in 0..<block.rows {
            let row = i * d
            let m = massMap.value(gaussianised: values[row + derived])
            let angle = max(angular(values, row: row, a: a, b: b), 1e-12)
            if modelsRatio == true {
                // rho = pT_sub / pT_lead = exp(-e^u); m^2 = 2 pT_lead^2 rho A.
                let rho = exp(-exp(min(values[row + kept], 700)))
                let lead = m / (2 * max(rho, 1e-300) * angle).squareRoot()
                values[row + a[0]] = lead
                values[row + b[0]] = rho * lead
                continue
            }
            values[row + derived] = m * m / (2 * max(values[row + kept], 1e-9) * angle)
            if values[row + b[0]] > values[row + a[0]] {
                for (ja, jb) in zip(a, b) { values.swapAt(row + ja, row + jb) }
            }
        }
        var columns = block.columns
        columns[derived] = replacedColumn
        columns[kept] = keptColumn
        return EventSample.Block(columns: columns, rows: block.rows, values: values)
    }
}
