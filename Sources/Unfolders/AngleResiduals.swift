import Flows
import Foundation
import Physics
import Tensor

/// Parton angles as residuals to the detector object that measures them: the cINN models
/// g(eta_q1 - eta_j1) and g(wrap(phi_q1 - phi_j1)) in place of eta_q1 and phi_q1, g the training
/// sample's quantile Gaussianisation (`QuantileGaussianisation`).
///
/// Why: a quark's direction is measured by its jet to a few hundredths in eta and phi, while the
/// angle itself spans the detector (|eta| < 2.5, phi over 2 pi). In absolute coordinates the
/// posterior is a spike of width ~1 % of the coordinate's range, which a flow trained for minutes
/// learns too broad; with the mass-ratio pair coordinates that angular spread enters both quark pTs
/// (pT ~ m / sqrt(cosh Delta eta - cos Delta phi)) and fills the pT_q2 tails ([realism] 4:
/// zw-detector at seeds 7 and 11). As a residual the posterior is the detector's resolution
/// function around zero, the same for every event, and the Gaussianisation turns its narrow core
/// and long tails (jet-parton swaps, radiation) into one unit Gaussian the network starts from.
/// Nothing assumes Refold's detector: the residual's distribution is whatever the training pairs
/// show, and the same map serves the lepton angles of a chain with photon radiation.
///
/// Partners: a parton particle P pairs with the detector particle of the same name (l-, l+), or a
/// quark q_k with the k-th jet j_k. Only columns present in the network coordinates are mapped
/// (copied and derived columns are not); both blocks are in the azimuth frame.
public struct AngleResiduals: Codable, Equatable, Sendable {
    public struct Residual: Codable, Equatable, Sendable {
        /// The parton column (`eta_q1`) and the detector column it is measured by (`eta_j1`).
        public var parton: String
        public var detector: String
        /// g = Phi^-1(F(residual)), F the training residuals' CDF.
        public var map: QuantileGaussianisation
        /// For the pair's pT ratio: the measured value is ratio(ln(detector / denominator)), the
        /// jets' log pT ratio through the parton ratio's own Gaussianisation (nil: an angle).
        public var denominator: String?
        public var ratio: QuantileGaussianisation?

        /// The network coordinate's name, `g(eta_q1-eta_j1)`.
        public var networkColumn: String {
            guard let denominator else { return "g(\(parton)-\(detector))" }
            return "g(\(parton)-g(ln(\(detector)/\(denominator))))"
        }

        /// The measured value of `event` (`k`: the detector column, `kd`: the denominator's).
        func measured(_ detector: EventSample.Block, event: Int, k: Int, kd: Int?) -> Double {
            guard let kd, let ratio else { return detector[event, k] }
            return ratio.gaussianised(log(max(detector[event, k], 1e-300) / max(detector[event, kd], 1e-300)))
        }
        /// Azimuthal residuals are wrapped into (-pi, pi].
        var isAzimuth: Bool { parton.hasPrefix("phi_") }

        func residual(_ value: Double, measured: Double) -> Double {
            isAzimuth ? FourMomentum.wrapPhi(value - measured) : value - measured
        }

        func value(_ residual: Double, measured: Double) -> Double {
            isAzimuth ? FourMomentum.wrapPhi(residual + measured) : residual + measured
        }
    }

    public var residuals: [Residual]

    /// The entry of a particle list that selects the pair's pT ratio (`fit`).
    public static let ratioName = "ratio"

    /// The detector column measuring the parton angle `column`, if `detector` has one.
    static func partner(of column: String, detector: [String]) -> String? {
        guard let underscore = column.firstIndex(of: "_") else { return nil }
        let kind = column[..<underscore], particle = column[column.index(after: underscore)...]
        guard kind == "eta" || kind == "phi" else { return nil }
        if detector.contains(column) { return column }
        if particle.hasPrefix("q"), let k = Int(particle.dropFirst()), detector.contains("\(kind)_j\(k)") { return "\(kind)_j\(k)" }
        return nil
    }

    /// The residuals of the angle columns of `network` (network coordinates, one row per detector
    /// event) that have a partner in `detector` and belong to one of `particles` (nil: every
    /// particle), their maps fitted on these pairs; nil if none.
    /// With `pairRatio` (the pair's Gaussianised log pT ratio column and its map, `PairMassCoordinate`)
    /// and "ratio" among `particles`, that coordinate becomes a residual to the jets' ratio
    /// through the same map: the two quark pTs then follow the jets' measured balance.
    public static func fit(_ network: EventSample.Block, detector: EventSample.Block, particles: [String]? = nil,
                           pairRatio: (column: String, map: QuantileGaussianisation)? = nil) -> AngleResiduals? {
        guard network.rows == detector.rows, network.rows >= 2 else { return nil }
        var residuals = network.columns.enumerated().compactMap { j, column -> Residual? in
            if let particles, !particles.contains(where: { column == "eta_\($0)" || column == "phi_\($0)" }) { return nil }
            guard let partner = partner(of: column, detector: detector.columns), let k = detector.index(of: partner) else { return nil }
            var residual = Residual(parton: column, detector: partner, map: QuantileGaussianisation(fitting: [0, 1]))
            residual.map = QuantileGaussianisation(fitting: (0..<network.rows).map { i in
                residual.residual(network[i, j], measured: detector[i, k])
            })
            return residual
        }
        if let pairRatio, particles?.contains(ratioName) ?? false, let j = network.index(of: pairRatio.column),
           let k = detector.index(of: "pT_j1"), let kd = detector.index(of: "pT_j2") {
            var residual = Residual(parton: pairRatio.column, detector: "pT_j1", map: QuantileGaussianisation(fitting: [0, 1]),
                                    denominator: "pT_j2", ratio: pairRatio.map)
            residual.map = QuantileGaussianisation(fitting: (0..<network.rows).map { i in
                network[i, j] - residual.measured(detector, event: i, k: k, kd: kd)
            })
            residuals.append(residual)
        }
        return residuals.isEmpty ? nil : AngleResiduals(residuals: residuals)
    }

    /// Angles -> g(residual), the columns renamed `networkColumn`. `detector` has one row per
    /// `repeats` consecutive rows of `block` (K samples per event when unfolding).
    public func forward(_ block: EventSample.Block, detector: EventSample.Block, repeats: Int = 1) throws -> EventSample.Block {
        try apply(block, detector: detector, repeats: repeats, from: \.parton, to: \.networkColumn) { r, x, measured in
            r.map.gaussianised(r.residual(x, measured: measured))
        }
    }

    /// g(residual) -> angles, the inverse of `forward`.
    public func inverse(_ block: EventSample.Block, detector: EventSample.Block, repeats: Int = 1) throws -> EventSample.Block {
        try apply(block, detector: detector, repeats: repeats, from: \.networkColumn, to: \.parton) { r, g, measured in
            r.value(r.map.value(gaussianised: g), measured: measured)
        }
    }

    private func apply(_ block: EventSample.Block, detector: EventSample.Block, repeats: Int,
                       from: KeyPath<Residual, String>, to: KeyPath<Residual, String>,
                       _ transform: (Residual, Double, Double) -> Double) throws -> EventSample.Block {
        guard repeats >= 1, block.rows == detector.rows * repeats else {
            throw RefoldError.value("angle residual rows", expected: "\(detector.rows) detector events x \(repeats)", actual: block.rows)
        }
        let indices = try residuals.map { r -> (Int, Int, Int?) in
            guard let j = block.index(of: r[keyPath: from]), let k = detector.index(of: r.detector),
                  r.denominator == nil || detector.index(of: r.denominator!) != nil else {
                throw RefoldError.value("angle residual \(r.networkColumn)", expected: "columns \(r[keyPath: from]) and detector \(r.detector)",
                                        actual: "\(block.columns) / \(detector.columns)")
            }
            return (j, k, r.denominator.flatMap(detector.index(of:)))
        }
        var values = block.values, columns = block.columns
        let d = block.columns.count
        for row in 0..<block.rows {
            let event = row / repeats
            for (r, (j, k, kd)) in zip(residuals, indices) {
                values[row * d + j] = transform(r, values[row * d + j], r.measured(detector, event: event, k: k, kd: kd))
            }
        }
        for (r, (j, _, _)) in zip(residuals, indices) { columns[j] = r[keyPath: to] }
        return EventSample.Block(columns: columns, rows: block.rows, values: values)
    }
}

/// The quark pair ordered by the jets that measure it instead of by pT: the network's first quark
/// is the one matched to j1 (the assignment with the smaller summed Delta R), the second the one
/// matched to j2. With pT ordering, a fifth of the events have q1 inside j2 (the two quark pTs
/// are close and the jet response reorders them), so the posterior of q1's direction has a second
/// mode at the other jet; matched, each quark's direction is one narrow peak at its own jet, which
/// is what `AngleResiduals` needs. The pair's mass and pT ratio coordinates then see a signed
/// ln(pT_a / pT_b). Unfolded samples are put back into pT order (`inverse`), so the output columns
/// mean what they meant.
public struct JetMatchedPair: Codable, Equatable, Sendable {
    /// The parton pair (q1, q2) and the jets (j1, j2) that order it.
    public var partons: [String]
    public var jets: [String]

    public init(partons: [String] = ["q1", "q2"], jets: [String] = ["j1", "j2"]) {
        self.partons = partons; self.jets = jets
    }

    private func indices(_ columns: [String], _ names: [String]) -> [[Int]]? {
        let found = names.map { name in ["pT_", "eta_", "phi_"].compactMap { columns.firstIndex(of: $0 + name) } }
        return found.allSatisfy { $0.count == 3 } ? found : nil
    }

    /// pT order -> jet-matched order: the pair's (pT, eta, phi) swapped in the rows where the
    /// crossed assignment is closer. `detector` has one row per `repeats` rows of `block`.
    public func forward(_ block: EventSample.Block, detector: EventSample.Block, repeats: Int = 1) throws -> EventSample.Block {
        guard let p = indices(block.columns, partons), let j = indices(detector.columns, jets) else {
            throw RefoldError.value("jet-matched pair", expected: "(pT, eta, phi) of \(partons) and detector \(jets)",
                                    actual: "\(block.columns) / \(detector.columns)")
        }
        guard repeats >= 1, block.rows == detector.rows * repeats else {
            throw RefoldError.value("jet-matched pair rows", expected: "\(detector.rows) detector events x \(repeats)", actual: block.rows)
        }
        var values = block.values
        let d = block.columns.count
        func distance(_ row: Int, _ a: [Int], _ event: Int, _ b: [Int]) -> Double {
            let deta = values[row * d + a[1]] - detector[event, b[1]]
            let dphi = FourMomentum.wrapPhi(values[row * d + a[2]] - detector[event, b[2]])
            return (deta * deta + dphi * dphi).squareRoot()
        }
        for row in 0..<block.rows {
            let event = row / repeats
            let straight = distance(row, p[0], event, j[0]) + distance(row, p[1], event, j[1])
            let crossed = distance(row, p[0], event, j[1]) + distance(row, p[1], event, j[0])
            if crossed < straight { for (a, b) in zip(p[0], p[1]) { values.swapAt(row * d + a, row * d + b) } }
        }
        return EventSample.Block(columns: block.columns, rows: block.rows, values: values)
    }

    /// Any order -> pT order (the higher pT first).
    public func inverse(_ block: EventSample.Block) throws -> EventSample.Block {
        guard let p = indices(block.columns, partons) else {
            throw RefoldError.value("jet-matched pair", expected: "(pT, eta, phi) of \(partons)", actual: block.columns)
        }
        var values = block.values
        let d = block.columns.count
        for row in 0..<block.rows where values[row * d + p[1][0]] > values[row * d + p[0][0]] {
            for (a, b) in zip(p[0], p[1]) { values.swapAt(row * d + a, row * d + b) }
        }
        return EventSample.Block(columns: block.columns, rows: block.rows, values: values)
    }
}
