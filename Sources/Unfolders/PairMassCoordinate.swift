import Flows
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
/// - With a `ratioMap` the other pT is replaced too, by the Gaussianised r = ln(pT_lead / pT_sub)
///   >= 0: both pTs follow from (m, r, angles), pT_lead = m / sqrt(2 rho A) and pT_sub = rho pT_lead
///   with rho = e^-r <= 1, A = cosh(Delta eta) - cos(Delta phi). The ordering is built in and no
///   sample is relabelled; the Gaussianisation turns r's long tail towards equal pTs and its sharp
///   end at the softest pT_sub (the jet threshold) into a unit Gaussian's tails.
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
    /// g(r) = Phi^-1(F(r)) of r = ln(pT_lead / pT_sub), F the training CDF, replaces the other
    /// pT (nil: it is modelled as it is).
    public var ratioMap: QuantileGaussianisation?

    /// The network coordinate's name.
    public var networkColumn: String { "g(\(column))" }
    /// The column the mass replaces.
    public var replacedColumn: String { "pT_\(replacesLeading ? leading : subleading)" }
    /// The name of the ratio coordinate (`ratioMap`).
    public var ratioColumn: String { "g(ln(pT_\(leading)/pT_\(subleading)))" }
    /// The other pT's column in the physical and in the network coordinates.
    private var keptColumn: String { "pT_\(replacesLeading ? subleading : leading)" }
    private var keptNetworkColumn: String { ratioMap == nil ? keptColumn : ratioColumn }

    /// The coordinate for a pT-ordered pair of `block`, its map fitted on the block's masses; nil
    /// if the block lacks one of their massless (pT, eta, phi).
    public static func fit(_ block: EventSample.Block, leading: String, subleading: String, replacesLeading: Bool,
                           column: String, modelsRatio: Bool = false) -> PairMassCoordinate? {
        var coordinate = PairMassCoordinate(leading: leading, subleading: subleading, replacesLeading: replacesLeading,
                                            column: column, massMap: QuantileGaussianisation(fitting: [0, 1]))
        guard let (a, b) = coordinate.indices(block.columns, derived: coordinate.replacedColumn, kept: coordinate.keptColumn),
              block.rows >= 4 else { return nil }
        coordinate.massMap = QuantileGaussianisation(fitting: (0..<block.rows).map { i in
            coordinate.mass(block.values, row: i * block.columns.count, a: a, b: b)
        })
        if modelsRatio {
            coordinate.ratioMap = QuantileGaussianisation(fitting: (0..<block.rows).map { i in
                logRatio(block.values, row: i * block.columns.count, a: a, b: b)
            })
        }
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

    /// r = ln(pT_lead / pT_sub) of one row.
    private static func logRatio(_ v: [Double], row: Int, a: [Int], b: [Int]) -> Double {
        log(max(v[row + a[0]], 1e-300) / max(v[row + b[0]], 1e-300))
    }

    private func mass(_ v: [Double], row: Int, a: [Int], b: [Int]) -> Double {
        (2 * v[row + a[0]] * v[row + b[0]] * max(angular(v, row: row, a: a, b: b), 0)).squareRoot()
    }

    /// The pair mass and ln(pT_lead / pT_sub) of row `row` of a block in physical columns (nil if
    /// they are missing).
    func physicalMassAndRatio(_ block: EventSample.Block, row: Int) -> (mass: Double, logRatio: Double)? {
        guard let (a, b) = indices(block.columns, derived: replacedColumn, kept: keptColumn) else { return nil }
        let offset = row * block.columns.count
        return (mass(block.values, row: offset, a: a, b: b), Self.logRatio(block.values, row: offset, a: a, b: b))
    }


    /// The replaced pT -> g(m) (and with a `ratioMap` the other -> g(r)), same row order; the
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
            if let ratioMap { values[row + kept] = ratioMap.gaussianised(Self.logRatio(block.values, row: row, a: a, b: b)) }
        }
        var columns = block.columns
        columns[derived] = networkColumn
        columns[kept] = keptNetworkColumn
        return EventSample.Block(columns: columns, rows: block.rows, values: values)
    }

    /// g(m) -> pT = m^2 / (2 pT_other (cosh(Delta eta) - cos(Delta phi))), then pT-ordering; with
    /// a `ratioMap` (g(m), g(r)) -> both pTs, ordered by construction.
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
            if let ratioMap {
                // rho = pT_sub / pT_lead = e^-r; m^2 = 2 pT_lead^2 rho A.
                let rho = exp(-ratioMap.value(gaussianised: values[row + kept]))
                let lead = m / (2 * rho * angle).squareRoot()
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
