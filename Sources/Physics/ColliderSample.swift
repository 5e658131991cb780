import Foundation
import Tensor

/// The collider processes `refold generate` knows.
public enum ColliderProcess: String, CaseIterable {
    /// pp -> ZW -> (l- l+)(q q'), no ISR: exactly two jets matched to the quarks.
    case zw
    /// ZW with initial-state radiation: >= 2 jets, four kept (zero-padded) plus njets.
    case zwISR = "zw-isr"
    /// ZW with a W' -> ZW admixture (fraction `wPrimeFraction` of accepted events).
    case wPrime = "wprime"
    /// pp -> Z -> e+ e- at parton level (single-level sample, 4 free dimensions).
    case drellYan = "drell-yan"

    /// Whether the process is generated from `ZWParameters` (zw, zw-isr, wprime).
    public var usesZWParameters: Bool { self != .drellYan }
}

/// Column names of the samples (also written into meta.json).
public enum ColliderColumns {
    /// Parton level: l-, l+, q1, q2 (quarks by pT), each (pT, eta, phi): 12 columns.
    public static let parton = ["l-", "l+", "q1", "q2"].flatMap { o in ["pT", "eta", "phi"].map { "\($0)_\(o)" } }
    /// Detector level with `jets` jet slots: l-, l+, j1..jn, each (pT, eta, phi, m).
    public static func detector(jets: Int) -> [String] {
        (["l-", "l+"] + (1...jets).map { "j\($0)" }).flatMap { o in ["pT", "eta", "phi", "m"].map { "\($0)_\(o)" } }
    }
}

/// Everything a collider sample depends on.
public struct ColliderConfiguration {
    public var process: ColliderProcess
    public var zw = ZWParameters()
    public var isr = ISRParameters()
    public var drellYan = DrellYanParameters()
    public var card = DetectorCard.atlas
    public var wPrimeFraction = 0.1
    public init(process: ColliderProcess) { self.process = process }
}

/// One accepted event: the hard process (parton-level reference) and its detector view.
public struct PairedEvent {
    public var hard: HardEvent
    /// The hard system after ISR recoil, and the ISR partons (empty without ISR).
    public var recoiled: HardEvent
    public var emissions: [FourMomentum]
    public var detector: DetectorEvent
}

/// Generates paired ZW samples through the fast detector.
public final class ZWSimulation {
    public let configuration: ColliderConfiguration
    public let production: ZWProduction
    public let detector: FastDetector
    public init(_ configuration: ColliderConfiguration) {
        self.configuration = configuration
        production = ZWProduction(parameters: configuration.zw)
        detector = FastDetector(card: configuration.card)
    }

    public var withISR: Bool { configuration.process == .zwISR }

    /// One trial: nil if the event fails the selection (two SFOS leptons; exactly two matched
    /// jets without ISR, at least two with ISR).
    @inline(__always) public func trial(wPrime: Bool = false, _ rng: RNGStream) -> PairedEvent? {
        let hard = production.generate(wPrime: wPrime, rng)
        guard withISR else {
            guard let event = detector.selectTwoJetEvent(hard, rng) else { return nil }
            return PairedEvent(hard: hard, recoiled: hard, emissions: [], detector: event)
        }
        let radiated = InitialStateRadiation.radiate(hard, configuration.isr, rng)
        guard let event = detector.reconstruct(radiated.recoiled, emissions: radiated.emissions, rng),
              event.jets.count >= 2 else { return nil }
        return PairedEvent(hard: hard, recoiled: radiated.recoiled, emissions: radiated.emissions, detector: event)
    }

    /// `count` accepted events and the number of trials they took.
    public func accepted(_ count: Int, wPrime: Bool = false, _ rng: RNGStream) -> (events: [PairedEvent], trials: Int) {
        var events: [PairedEvent] = []
        events.reserveCapacity(count)
        var trials = 0
        while events.count < count {
            trials += 1
            if let e = trial(wPrime: wPrime, rng) { events.append(e) }
        }
        return (events, trials)
    }

    /// Detector jet slots: 2 without ISR (16 columns), card.maximumJets with ISR.
    public var jetSlots: Int { withISR ? configuration.card.maximumJets : 2 }

    /// Rows of `count` accepted events appended to the level arrays; returns the trials taken.
    func fill(_ count: Int, wPrime: Bool, _ rng: RNGStream, into rows: inout Rows) -> Int {
        rows.parton.reserveCapacity(rows.parton.count + count * ColliderColumns.parton.count)
        rows.detector.reserveCapacity(rows.detector.count + count * (8 + 4 * jetSlots))
        var trials = 0, done = 0
        while done < count {
            trials += 1
            guard let e = trial(wPrime: wPrime, rng) else { continue }
            ZWSimulation.appendPartonRow(e.hard, to: &rows.parton)
            ZWSimulation.appendDetectorRow(e.detector, slots: jetSlots, to: &rows.detector)
            rows.njets.append(min(e.detector.jets.count, jetSlots))
            rows.flavour.append(e.detector.flavour.rawValue)
            done += 1
        }
        return trials
    }

    struct Rows { var parton: [Double] = [], detector: [Double] = [], njets: [Int] = [], flavour: [Int] = [] }

    /// A paired sample of `count` accepted events. For `.wPrime`, round(f N) events are W'
    /// and the rest standard model (streams "standard-model", "wprime"), shuffled together by
    /// the child stream "mix".
    public func sample(events count: Int, rng: RNGStream) -> EventSample {
        var parameters = configuration.zw.record.merging(configuration.card.record) { a, _ in a }
        if withISR { parameters.merge(configuration.isr.record) { a, _ in a } }
        var rows = Rows(), trials: Int
        let dp = ColliderColumns.parton.count, dd = 8 + 4 * jetSlots
        if configuration.process == .wPrime {
            let nWPrime = Int((configuration.wPrimeFraction * Double(count)).rounded())
            var sm = Rows(), wp = Rows()
            let smTrials = fill(count - nWPrime, wPrime: false, rng.child("standard-model"), into: &sm)
            let wpTrials = fill(nWPrime, wPrime: true, rng.child("wprime"), into: &wp)
            let all = (parton: sm.parton + wp.parton, detector: sm.detector + wp.detector, njets: sm.njets + wp.njets,
                       flavour: sm.flavour + wp.flavour)
            for i in rng.child("mix").permutation(count) {
                rows.parton += all.parton[(i * dp)..<((i + 1) * dp)]
                rows.detector += all.detector[(i * dd)..<((i + 1) * dd)]
                rows.njets.append(all.njets[i])
                rows.flavour.append(all.flavour[i])
            }
            trials = smTrials + wpTrials
            parameters["wprime_fraction"] = configuration.wPrimeFraction
            parameters["wprime_events"] = Double(nWPrime)
            parameters["selection_efficiency_sm"] = Double(count - nWPrime) / Double(max(smTrials, 1))
            parameters["selection_efficiency_wprime"] = Double(nWPrime) / Double(max(wpTrials, 1))
        } else {
            trials = fill(count, wPrime: false, rng, into: &rows)
        }
        var sample = EventSample(generator: configuration.process.rawValue, seed: rng.seed,
                                 parton: .init(columns: ColliderColumns.parton, rows: count, values: rows.parton),
                                 detector: .init(columns: ColliderColumns.detector(jets: jetSlots), rows: count, values: rows.detector),
                                 njets: withISR ? rows.njets : nil, parameters: parameters,
                                 selectionEfficiency: Double(count) / Double(max(trials, 1)))
        sample.leptonFlavour = rows.flavour
        return sample
    }

    /// (pT, eta, phi) of l-, l+, q1, q2.
    @inline(__always) public static func appendPartonRow(_ h: HardEvent, to row: inout [Double]) {
        for p in [h.leptonMinus, h.leptonPlus, h.quark1, h.quark2] { row.append(p.pT); row.append(p.eta); row.append(p.phi) }
    }

    /// (pT, eta, phi, m) of l-, l+ and `slots` jets, zero-padded.
    @inline(__always) public static func appendDetectorRow(_ d: DetectorEvent, slots: Int, to row: inout [Double]) {
        for p in [d.leptonMinus, d.leptonPlus] { row.append(p.pT); row.append(p.eta); row.append(p.phi); row.append(max(0, p.mass)) }
        for k in 0..<slots {
            if k < d.jets.count {
                let j = d.jets[k]
                row.append(j.pT); row.append(j.eta); row.append(j.phi); row.append(max(0, j.mass))
            } else {
                for _ in 0..<4 { row.append(0) }
            }
        }
    }
}

extension DetectorCard {
    /// The headline numbers recorded in meta.json.
    public var record: [String: Double] {
        ["jet_minimum_pT": jetMinimumPT, "jet_maximum_eta": jetMaximumEta, "jet_radius": jetRadius,
         "jet_eta_sigma": jetEtaSigma, "jet_phi_sigma": jetPhiSigma, "jet_mass_mean": jetMassMean,
         "maximum_jets": Double(maximumJets)].merging(realismRecord) { a, _ in a }
    }
}

/// Generates any collider sample (the entry point of `refold generate`).
public func generateColliderSample(_ configuration: ColliderConfiguration, events: Int, rng: RNGStream) throws -> EventSample {
    guard events > 0 else { throw RefoldError.value("events", expected: "a positive count", actual: events) }
    guard (0...1).contains(configuration.wPrimeFraction) else {
        throw RefoldError.value("wprime fraction", expected: "a value in [0, 1]", actual: configuration.wPrimeFraction)
    }
    try configuration.card.validate()
    switch configuration.process {
    case .drellYan:
        return DrellYanProduction(parameters: configuration.drellYan).sample(events: events, rng: rng)
    case .zw, .zwISR, .wPrime:
        return ZWSimulation(configuration).sample(events: events, rng: rng)
    }
}

/// Speed benchmarks (the `bench` command calls them).
public enum ColliderBenchmarks {
    /// Generates `events` accepted ZW events through the ATLAS-like detector and builds the
    /// sample arrays; returns the wall time in seconds and the count.
    public static func zwWithDetector(events: Int, seed: UInt64) -> (seconds: Double, events: Int) {
        let start = DispatchTime.now().uptimeNanoseconds
        let sample = ZWSimulation(ColliderConfiguration(process: .zw))
            .sample(events: events, rng: RNGStream(seed: seed).child("generate.zw"))
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return (seconds, sample.count)
    }

    /// Generates `events` accepted Z -> mu mu + jets events and `events` ttbar events (the
    /// precision generators' truth samples); wall seconds of each.
    public static func precisionSamples(events: Int, seed: UInt64) -> (zJetsSeconds: Double, ttbarSeconds: Double) {
        let rng = RNGStream(seed: seed)
        let start = DispatchTime.now().uptimeNanoseconds
        _ = try? ZJetsProduction().sample(events: events, rng: rng.child("generate.z-jets"))
        let middle = DispatchTime.now().uptimeNanoseconds
        _ = try? TTbarProduction().sample(events: events, rng: rng.child("generate.ttbar"))
        let end = DispatchTime.now().uptimeNanoseconds
        return (Double(middle - start) / 1e9, Double(end - middle) / 1e9)
    }

    /// Generates `events` photon + Z Drell-Yan events (component B, the default window).
    public static func electroweakDrellYan(events: Int, seed: UInt64) -> (seconds: Double, events: Int) {
        let start = DispatchTime.now().uptimeNanoseconds
        guard let generator = try? ElectroweakDrellYan(component: .background) else { return (.nan, 0) }
        let sample = generator.sample(events: events, rng: RNGStream(seed: seed).child("generate.drell-yan-ew"))
        return (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, sample.count)
    }
}

extension EventSample {
    /// The events of a zw-type sample as physics objects, for per-event likelihoods: the hard
    /// event from `parton` (l-, l+, q1, q2 by (pT, eta, phi)) and the detector event from
    /// `detector` (the jets of the non-empty slots), with the lepton flavour of `lepton_flavour.npy`.
    /// Throws, naming the sample folder `source`, if the columns are not the collider columns or the
    /// flavours are missing or not 11 / 13.
    public func colliderEvents(source: String) throws -> [(hard: HardEvent, detector: DetectorEvent)] {
        guard let parton, let detector else {
            throw RefoldError.file(source, "expected a paired sample (parton.npy and detector.npy), got a single-level one")
        }
        guard parton.columns == ColliderColumns.parton else {
            throw RefoldError.file(source, "parton columns: expected \(ColliderColumns.parton), got \(parton.columns)")
        }
        let slots = (detector.columns.count - 8) / 4
        guard slots >= 2, detector.columns == ColliderColumns.detector(jets: slots) else {
            throw RefoldError.file(source, "detector columns: expected \(ColliderColumns.detector(jets: 2)) (or more jet slots), got \(detector.columns)")
        }
        guard let flavours = leptonFlavour else {
            throw RefoldError.file(source, "missing lepton_flavour.npy (the lepton resolution depends on it; regenerate the sample with this version of refold generate)")
        }
        return try (0..<count).map { i in
            guard let flavour = LeptonFlavour(rawValue: flavours[i]) else {
                throw RefoldError.file(source, "lepton_flavour row \(i): expected 11 or 13, got \(flavours[i])")
            }
            func parton(_ k: Int) -> FourMomentum {
                FourMomentum(pT: self.parton![i, 3 * k], eta: self.parton![i, 3 * k + 1], phi: self.parton![i, 3 * k + 2])
            }
            func object(_ k: Int) -> FourMomentum {
                FourMomentum(pT: detector[i, 4 * k], eta: detector[i, 4 * k + 1], phi: detector[i, 4 * k + 2], mass: detector[i, 4 * k + 3])
            }
            let hard = HardEvent(leptonMinus: parton(0), leptonPlus: parton(1), quark1: parton(2), quark2: parton(3), flavour: flavour, isWPrime: false)
            let jets = (0..<slots).map { object(2 + $0) }.filter { $0.pT > 0 }
            return (hard, DetectorEvent(leptonMinus: object(0), leptonPlus: object(1), jets: jets, flavour: flavour))
        }
    }
}
