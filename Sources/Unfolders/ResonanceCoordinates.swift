import Flows
import Foundation
import Physics
import Tensor

/// A parton pair from a resonance decay (W -> q q) in the coordinates of the decay: the pair's
/// mass, rapidity and transverse momentum, and the direction (eta*, phi*) of one parton in the
/// pair's rest frame (axes parallel to the lab's). A narrow resonance is then one sharp 1D density
/// (the W's 2.1 GeV Breit-Wigner), where in (pT, eta, phi) per parton it is a thin curved shell
/// a flow smears out; and when the hard process balances in the transverse plane (every training
/// event: the pair recoils against the other partons, `balancing`), the pair's pT and phi follow
/// from those partons and are not modelled, so every unfolded event balances exactly.
///
/// - The mass enters as g(m) = Phi^-1(F(m)), F the training CDF (piecewise linear between
///   quantiles): the marginal becomes a unit Gaussian whatever the resonance shape or mass window.
/// - eta* = atanh(cos theta*) is unbounded; phi* is periodic, so a sample past +-pi wraps.
/// - Which parton's direction is recorded is drawn per event (a hash of its momenta), so the
///   training density is symmetric under (eta*, phi*) -> (-eta*, phi* + pi), the relabelling of
///   the pair; unfolded pairs are ordered by pT (`leading` first) as in the data.
public struct ResonanceCoordinates: Codable, Equatable, Sendable {
    /// The partons, leading (higher pT) first.
    public var leading: String
    public var subleading: String
    /// Name of the pair mass (m_jj): the network coordinate is g(m_jj).
    public var mass: String
    /// Partons whose transverse momenta the pair balances; empty: pT and phi of the pair modelled.
    public var balancing: [String]
    /// g(m) = Phi^-1(F(m)), F the training masses' CDF.
    public var massMap: QuantileGaussianisation


    /// The parton columns these coordinates replace.
    public var replacedColumns: [String] {
        [leading, subleading].flatMap { ["pT_\($0)", "eta_\($0)", "phi_\($0)"] }
    }

    /// The network coordinates, in order.
    public var networkColumns: [String] {
        let pair = "\(leading)\(subleading)"
        let transverse = balancing.isEmpty ? ["pT_\(pair)", "phi(\(pair))"] : []
        return ["g(\(mass))", "y(\(pair))"] + transverse + ["eta*(\(pair))", "phi*(\(pair))"]
    }

    /// The coordinates for the pT-ordered pair of `block`: the mass map fitted on its masses, and
    /// `balancing` set when the pair balances the other partons to 1e-6 of their scalar pT sum in
    /// every event. nil if the block lacks (pT, eta, phi) of either parton or has mass columns.
    public static func fit(_ block: EventSample.Block, leading: String, subleading: String, mass: String) -> ResonanceCoordinates? {
        let columns = block.columns
        guard !columns.contains("m_\(leading)"), !columns.contains("m_\(subleading)"), block.rows >= 4,
              let a = Particle(leading, columns), let b = Particle(subleading, columns) else { return nil }
        // The other partons with (pT, eta, phi), in column order.
        let otherParticles = columns.compactMap { name -> (name: String, columns: Particle)? in
            guard name.hasPrefix("pT_") else { return nil }
            let particle = String(name.dropFirst(3))
            guard particle != leading, particle != subleading, let p = Particle(particle, columns) else { return nil }
            return (particle, p)
        }
        let others = otherParticles.map(\.name)
        var balanced = !others.isEmpty
        var masses = [Double](); masses.reserveCapacity(block.rows)
        for i in 0..<block.rows {
            let row = i * columns.count
            let pair = a.momentum(block.values, row: row) + b.momentum(block.values, row: row)
            masses.append(max(pair.mass, 0))
            guard balanced else { continue }
            var px = pair.px, py = pair.py, scalar = pair.pT
            for p in otherParticles {
                let v = p.columns.momentum(block.values, row: row)
                px += v.px; py += v.py; scalar += v.pT
            }
            if (px * px + py * py).squareRoot() > 1e-6 * max(scalar, 1) { balanced = false }
        }
        return ResonanceCoordinates(leading: leading, subleading: subleading, mass: mass,
                                    balancing: balanced ? others : [], massMap: QuantileGaussianisation(fitting: masses))
    }

    /// Parton columns -> the same block with the pair's six columns replaced by `networkColumns`
    /// (appended at the end, after the remaining columns).
    public func forward(_ block: EventSample.Block) throws -> EventSample.Block {
        let columns = block.columns
        guard let a = Particle(leading, columns), let b = Particle(subleading, columns) else {
            throw RefoldError.value("resonance coordinates", expected: "(pT, eta, phi) of \(leading) and \(subleading)", actual: columns)
        }
        let kept = columns.indices.filter { !replacedColumns.contains(columns[$0]) }
        let d = columns.count, out = kept.count + networkColumns.count
        var values = [Double](); values.reserveCapacity(block.rows * out)
        for i in 0..<block.rows {
            let row = i * d
            for j in kept { values.append(block.values[row + j]) }
            let qa = a.momentum(block.values, row: row), qb = b.momentum(block.values, row: row)
            let pair = qa + qb
            // Either parton, by a hash of its momentum bits (reproducible, label-symmetric).
            let chosen = Self.hashBit(block.values[row + a.pT], block.values[row + b.eta]) ? qa : qb
            let rest = chosen.inRestFrame(of: pair)
            let cosTheta = min(max(rest.pz / max(rest.p, 1e-12), -1 + 1e-12), 1 - 1e-12)
            values.append(massMap.gaussianised(max(pair.mass, 0)))
            values.append(pair.rapidity)
            if balancing.isEmpty { values.append(pair.pT); values.append(pair.phi) }
            values.append(atanh(cosTheta))
            values.append(atan2(rest.py, rest.px))
        }
        return EventSample.Block(columns: kept.map { columns[$0] } + networkColumns, rows: block.rows, values: values)
    }

    /// Network coordinates (with the balancing partons' pT, eta, phi in the block when
    /// `balancing` is set) -> the pair's parton columns, leading first, appended at the end.
    public func inverse(_ block: EventSample.Block) throws -> EventSample.Block {
        let columns = block.columns
        let index = try networkColumns.map { name -> Int in
            guard let j = block.index(of: name) else {
                throw RefoldError.value("resonance coordinates", expected: "a column \(name)", actual: columns)
            }
            return j
        }
        let others = try balancing.map { name -> Particle in
            guard let p = Particle(name, columns) else {
                throw RefoldError.value("resonance coordinates", expected: "(pT, eta, phi) of the balancing \(name)", actual: columns)
            }
            return p
        }
        let kept = columns.indices.filter { !index.contains($0) }
        let d = columns.count, out = kept.count + 6
        var values = [Double](); values.reserveCapacity(block.rows * out)
        for i in 0..<block.rows {
            let row = i * d
            for j in kept { values.append(block.values[row + j]) }
            let v = index.map { block.values[row + $0] }
            let m = massMap.value(gaussianised: v[0]), y = v[1]
            var pT: Double, phi: Double
            if balancing.isEmpty {
                pT = v[2]; phi = v[3]
            } else {
                var px = 0.0, py = 0.0
                for p in others { let q = p.momentum(block.values, row: row); px -= q.px; py -= q.py }
                pT = (px * px + py * py).squareRoot(); phi = atan2(py, px)
            }
            let etaStar = v[v.count - 2], phiStar = v[v.count - 1]
            let mT = (m * m + pT * pT).squareRoot()
            let pair = FourMomentum(e: mT * cosh(y), px: pT * cos(phi), py: pT * sin(phi), pz: mT * sinh(y))
            let sinTheta = 1 / cosh(etaStar), cosTheta = tanh(etaStar)
            let k = m / 2
            let rest = FourMomentum(e: k, px: k * sinTheta * cos(phiStar), py: k * sinTheta * sin(phiStar), pz: k * cosTheta)
            let q1 = rest.fromRestFrame(of: pair)
            let q2 = pair - q1
            let (lead, sub) = q1.pT >= q2.pT ? (q1, q2) : (q2, q1)
            for q in [lead, sub] { values.append(q.pT); values.append(q.eta); values.append(q.phi) }
        }
        return EventSample.Block(columns: kept.map { columns[$0] } + replacedColumns, rows: block.rows, values: values)
    }


    /// A reproducible fair bit from two doubles (SplitMix64 finaliser of their bit patterns).
    static func hashBit(_ x: Double, _ y: Double) -> Bool {
        var z = x.bitPattern &+ 0x9E37_79B9_7F4A_7C15 &* (y.bitPattern | 1)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return (z ^ (z >> 31)) & 1 == 1
    }

    /// Column indices of one massless parton.
    struct Particle: Equatable {
        let pT: Int, eta: Int, phi: Int
        init?(_ name: String, _ columns: [String]) {
            guard let pT = columns.firstIndex(of: "pT_\(name)"), let eta = columns.firstIndex(of: "eta_\(name)"),
                  let phi = columns.firstIndex(of: "phi_\(name)") else { return nil }
            self.pT = pT; self.eta = eta; self.phi = phi
        }
        func momentum(_ v: [Double], row: Int) -> FourMomentum {
            FourMomentum(pT: v[row + pT], eta: v[row + eta], phi: v[row + phi])
        }
    }
}
