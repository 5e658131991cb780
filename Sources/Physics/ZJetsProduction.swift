import Foundation
import Tensor

/// pp -> Z -> mu- mu+ plus 1, 2 or 3 jets at particle level (no detector), the training sample of
/// the precision generator (talk 001, arXiv:2110.13632). The Z is Refold's Drell-Yan (Breit-Wigner
/// m_mumu in [minimumMass, maximumMass], pdf-weighted rapidity, 1 + cos^2 + B cos decay); the jets
/// are the toy initial-state shower's emissions (`InitialStateRadiation`) with Q = scaleFraction
/// m_mumu, generated down to the jet threshold and at most `maximumJets` of them, so every
/// emission is a jet and the muon pair takes the whole recoil: sum of all transverse momenta = 0.
/// An event is kept if it has at least one jet and every jet pair has Delta R > minimumSeparation
/// (rejected otherwise: a particle-level selection, counted in the selection efficiency).
public struct ZJetsParameters: Equatable {
    public var drellYan: DrellYanParameters
    /// Jet threshold pT (GeV): the shower's cut-off.
    public var jetMinimumPT = 20.0
    /// R_min: every jet pair has Delta R above it.
    public var minimumSeparation = 0.4
    public var maximumJets = 3
    /// Sudakov coefficient A and hard scale Q = scaleFraction m_mumu of the shower (with these, about
    /// 45 % one-jet, 33 % two-jet and 22 % three-jet events).
    public var sudakovCoefficient = 0.3
    public var scaleFraction = 2.0
    public var rapiditySigma = 1.8

    public init() {
        drellYan = DrellYanParameters()
    }

    /// The shower that makes the jets: its cut-off is the jet threshold.
    public var isr: ISRParameters {
        var p = ISRParameters()
        p.sudakovCoefficient = sudakovCoefficient; p.scaleFraction = scaleFraction; p.minimumPT = jetMinimumPT
        p.rapiditySigma = rapiditySigma; p.maximumEmissions = maximumJets
        return p
    }

    public var record: [String: Double] {
        drellYan.record.merging(["jet_minimum_pT": jetMinimumPT, "minimum_separation": minimumSeparation,
                                 "maximum_jets": Double(maximumJets), "isr_sudakov_A": sudakovCoefficient,
                                 "isr_scale_fraction": scaleFraction, "isr_rapidity_sigma": rapiditySigma]) { a, _ in a }
    }

    /// Throws unless the numbers describe a generator that terminates.
    public func validated() throws -> ZJetsParameters {
        guard jetMinimumPT > 0, minimumSeparation >= 0, (1...8).contains(maximumJets), sudakovCoefficient > 0, scaleFraction > 0, rapiditySigma > 0 else {
            throw RefoldError.value("Z+jets parameters", expected: "jet pT > 0, R_min >= 0, 1...8 jets, A > 0, Q fraction > 0, rapidity sigma > 0",
                                    actual: "\(jetMinimumPT), \(minimumSeparation), \(maximumJets), \(sudakovCoefficient), \(scaleFraction), \(rapiditySigma)")
        }
        guard drellYan.minimumMass > 0, drellYan.maximumMass > drellYan.minimumMass,
              scaleFraction * drellYan.maximumMass > jetMinimumPT else {
            throw RefoldError.value("Z+jets mass window", expected: "0 < minimum < maximum and Q = scaleFraction m_max above the jet threshold",
                                    actual: "[\(drellYan.minimumMass), \(drellYan.maximumMass)], Q fraction \(scaleFraction)")
        }
        return self
    }
}

/// One Z + jets event: the muons and the jets by descending pT.
public struct ZJetsEvent: Equatable {
    public var muMinus: FourMomentum, muPlus: FourMomentum
    public var jets: [FourMomentum]

    public init(muMinus: FourMomentum, muPlus: FourMomentum, jets: [FourMomentum]) {
        self.muMinus = muMinus; self.muPlus = muPlus; self.jets = jets
    }

    public var mMuMu: Double { (muMinus + muPlus).mass }
    /// Delta R of every jet pair (i < j), in the order (1,2), (1,3), (2,3), ...
    public var jetSeparations: [Double] {
        var out: [Double] = []
        for i in 0..<jets.count { for j in (i + 1)..<jets.count { out.append(jets[i].deltaR(jets[j])) } }
        return out
    }
}

public struct ZJetsProduction {
    public let parameters: ZJetsParameters
    private let drellYan: DrellYanProduction

    public init(parameters: ZJetsParameters = ZJetsParameters()) throws {
        self.parameters = try parameters.validated()
        drellYan = DrellYanProduction(parameters: parameters.drellYan)
    }

    /// Objects of a sample row: mu-, mu+, j1..j_maximumJets.
    public static func objects(jets: Int) -> [String] { ["mu-", "mu+"] + (1...jets).map { "j\($0)" } }
    /// Columns (pT, eta, phi) per object, zero-padded jet slots.
    public static func columns(jets: Int) -> [String] { objects(jets: jets).flatMap { o in ["pT", "eta", "phi"].map { "\($0)_\(o)" } } }

    /// One trial: nil if it has no jet or a jet pair closer than R_min.
    public func trial(_ rng: RNGStream) -> ZJetsEvent? {
        let (muMinus, muPlus) = drellYan.generate(rng)
        let jets = InitialStateRadiation.emissions(scale: parameters.scaleFraction * (muMinus + muPlus).mass, parameters.isr, rng)
        guard !jets.isEmpty else { return nil }
        let event = ZJetsEvent(muMinus: muMinus, muPlus: muPlus, jets: jets)
        guard event.jetSeparations.allSatisfy({ $0 > parameters.minimumSeparation }) else { return nil }
        let k = jets.reduce(FourMomentum.zero, +)
        let recoiled = InitialStateRadiation.recoil([muMinus, muPlus], px: -k.px, py: -k.py)
        return ZJetsEvent(muMinus: recoiled[0], muPlus: recoiled[1], jets: jets)
    }

    /// A single-level sample of `count` accepted events: `events.npy` with `columns(jets:)`,
    /// `njets.npy` the multiplicity, selection efficiency = accepted / trials.
    public func sample(events count: Int, rng: RNGStream) -> EventSample {
        let slots = parameters.maximumJets
        var values: [Double] = [], njets: [Int] = []
        values.reserveCapacity(count * 3 * (2 + slots))
        var trials = 0
        while njets.count < count {
            trials += 1
            guard let event = trial(rng) else { continue }
            values += Self.row(event, slots: slots)
            njets.append(event.jets.count)
        }
        var sample = EventSample(generator: "z-jets", seed: rng.seed,
                                 events: .init(columns: Self.columns(jets: slots), rows: count, values: values),
                                 parameters: parameters.record, selectionEfficiency: Double(count) / Double(trials))
        sample.njets = njets
        return sample
    }

    /// (pT, eta, phi) of mu-, mu+ and `slots` jet slots, zero-padded.
    public static func row(_ e: ZJetsEvent, slots: Int) -> [Double] {
        var row: [Double] = []
        for p in [e.muMinus, e.muPlus] + e.jets.prefix(slots) { row += [p.pT, p.eta, p.phi] }
        row += [Double](repeating: 0, count: 3 * (slots - min(slots, e.jets.count)))
        return row
    }

    /// The event of `row` of a z-jets block (jets: the non-empty slots).
    public static func event(_ block: EventSample.Block, row: Int) throws -> ZJetsEvent {
        guard let muMinus = block.momentum("mu-", row: row), let muPlus = block.momentum("mu+", row: row) else {
            throw RefoldError.value("z-jets columns", expected: "pT, eta, phi of mu- and mu+", actual: block.columns)
        }
        var jets: [FourMomentum] = []
        var k = 1
        while block.index(of: "pT_j\(k)") != nil {
            if let j = block.momentum("j\(k)", row: row) { jets.append(j) }
            k += 1
        }
        return ZJetsEvent(muMinus: muMinus, muPlus: muPlus, jets: jets)
    }
}

/// The seed's Delta R weight of the precision generator (talk 001): per jet pair
/// f(Delta R) = (Delta R - R-) / (R+ - R-) on [R-, R+], 0 below R-, 1 above R+; an event's weight
/// is the product over its jet pairs (1 for one jet). Training on events weighted by f makes the
/// learned density vanish linearly at the jet-separation edge instead of jumping there; generated
/// events then carry the weight 1/f (0 below R-: outside the physical region).
public struct SeparationWeight: Codable, Equatable, Sendable {
    public var lower: Double, upper: Double

    public init(lower: Double, upper: Double) throws {
        guard lower >= 0, upper > lower else {
            throw RefoldError.value("Delta R weight [R-, R+]", expected: "0 <= R- < R+", actual: "[\(lower), \(upper)]")
        }
        self.lower = lower; self.upper = upper
    }

    public func pair(_ deltaR: Double) -> Double { min(1, max(0, (deltaR - lower) / (upper - lower))) }

    /// The product over the pairs.
    public func event(_ separations: [Double]) -> Double { separations.reduce(1) { $0 * pair($1) } }

    /// 1/f, and 0 where f = 0.
    public func inverse(_ separations: [Double]) -> Double {
        let f = event(separations)
        return f > 0 ? 1 / f : 0
    }
}

/// The theory-uncertainty reweighting of talk 001 ("Theory uncertainties"): an event with leading
/// jet pT,j1 gets w_a = 1 + a ((pT,j1 - pivot) / scale)^2, a in [0, maximum] a nuisance parameter
/// that hardens the pT,j1 tail (pivot 15 GeV, scale 100 GeV, a up to 30: w = 1.5 at 86 GeV and
/// 13 at 215 GeV for a = 30). A generator conditioned on a and trained on events with a drawn
/// per event learns the whole family p(x | a) ∝ w_a(x) p(x); sampling a gives the band.
public struct AugmentationWeight: Codable, Equatable, Sendable {
    public var pivot: Double, scale: Double, maximum: Double

    public init(pivot: Double = 15, scale: Double = 100, maximum: Double = 30) throws {
        guard scale > 0, maximum > 0, pivot.isFinite else {
            throw RefoldError.value("augmentation weight (pivot, scale, maximum a)", expected: "finite pivot, scale > 0, maximum > 0",
                                    actual: "\(pivot), \(scale), \(maximum)")
        }
        self.pivot = pivot; self.scale = scale; self.maximum = maximum
    }

    /// u^2 = ((pT,j1 - pivot) / scale)^2.
    public func shape(leadingJetPT pT: Double) -> Double { let u = (pT - pivot) / scale; return u * u }

    /// w_a = 1 + a u^2.
    public func weight(leadingJetPT pT: Double, a: Double) -> Double { 1 + a * shape(leadingJetPT: pT) }

    /// Throws unless a lies in [0, maximum].
    public func check(_ a: Double) throws {
        guard a >= 0, a <= maximum else { throw RefoldError.value("augmentation a", expected: "in [0, \(maximum)]", actual: a) }
    }
}
