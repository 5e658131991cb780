import CGSL
import Foundation
import Tensor

/// A reconstructed event: two leptons and the selected jets, pT ordered.
public struct DetectorEvent: Equatable {
    public var leptonMinus: FourMomentum, leptonPlus: FourMomentum
    public var jets: [FourMomentum]
    public var flavour: LeptonFlavour
    public init(leptonMinus: FourMomentum, leptonPlus: FourMomentum, jets: [FourMomentum], flavour: LeptonFlavour) {
        self.leptonMinus = leptonMinus; self.leptonPlus = leptonPlus; self.jets = jets; self.flavour = flavour
    }
}

/// The parametrised fast detector of a `DetectorCard` (Delphes-like, thesis sec. 5.2.3).
public struct FastDetector {
    public let card: DetectorCard
    public init(card: DetectorCard = .atlas) { self.card = card }

    /// Lepton: the card's photon radiation (if on) takes a fraction z of its momentum, then efficiency by |eta| region, pT scaled by 1 + sigma N(0, 1) with
    /// sigma = sqrt(a^2 + pT^2 b^2), direction kept; nil if lost.
    @inlinable public func lepton(_ produced: FourMomentum, _ flavour: LeptonFlavour, _ rng: RNGStream) -> FourMomentum? {
        let response = flavour == .electron ? card.electron : card.muon
        let p = response.photonRadiation.isOn ? (1 - FastDetector.photonFraction(response.photonRadiation, rng)) * produced : produced
        let pt = p.pT, eta = p.eta
        guard pt > response.minimumPT, let i = response.region(abs(eta)) else { return nil }
        guard rng.uniform() < response.efficiency[i] else { return nil }
        let k = 1 + response.relativeResolution(pT: pt, region: i) * rng.normal()
        guard k > 0 else { return nil }
        let px = k * p.px, py = k * p.py, pz = k * p.pz
        return FourMomentum(e: (px * px + py * py + pz * pz + response.mass * response.mass).squareRoot(), px: px, py: py, pz: pz)
    }

    /// Jet from a clustered parton momentum: the parton-to-jet response of the card (if on), axis smeared by (sigma_eta, sigma_phi), energy by the
    /// calorimeter term, mass^2 = m_cluster^2 + (x pT)^2 with x ~ Gamma, then the energy scale
    /// multiplies the four-vector. nil if the smeared energy is not positive.
    @inlinable public func jet(_ cluster: FourMomentum, _ rng: RNGStream) -> FourMomentum? {
        var p = cluster
        if card.jetResponse.isOn {
            let k = FastDetector.jetResponseFactor(card.jetResponse, pT: cluster.pT, rng)
            guard k > 0 else { return nil }
            p = k * cluster
        }
        let trueEta = p.eta
        let eta = trueEta + rng.normal(mean: 0, std: card.jetEtaSigma)
        let phi = FourMomentum.wrapPhi(p.phi + rng.normal(mean: 0, std: card.jetPhiSigma))
        let energy = p.e + card.jetEnergyResolution(energy: p.e, absEta: abs(trueEta)) * rng.normal()
        guard energy > 0 else { return nil }
        let x = card.jetMassMean > 0 ? gsl_ran_gamma(rng.gsl, card.jetMassShape, card.jetMassMean / card.jetMassShape) : 0
        let clusterMass2 = max(0, p.mass2)
        let pTGuess = energy / cosh(eta)
        let mass = min((clusterMass2 + x * x * pTGuess * pTGuess).squareRoot(), 0.5 * energy)
        let pt = (energy * energy - mass * mass).squareRoot() / cosh(eta)
        let scale = card.jetEnergyScale(pT: pt, absEta: abs(eta))
        return scale * FourMomentum(pT: pt, eta: eta, phi: phi, mass: mass)
    }

    /// anti-kT clustering (Cacciari, Salam, Soyez 2008) with E-scheme recombination:
    /// d_ij = min(pT_i^-2, pT_j^-2) Delta R_ij^2 / R^2, d_iB = pT_i^-2.
    public static func antiKT(_ particles: [FourMomentum], radius: Double) -> [FourMomentum] {
        if particles.count == 2 {
            return particles[0].deltaR(particles[1]) < radius ? [particles[0] + particles[1]] : particles
        }
        var active = particles.filter { $0.pT > 0 }
        var jets: [FourMomentum] = []
        let r2 = radius * radius
        while !active.isEmpty {
            var best = Double.infinity, bi = 0, bj = -1
            for i in active.indices {
                let ki = 1 / (active[i].pT * active[i].pT)
                if ki < best { best = ki; bi = i; bj = -1 }
                for j in (i + 1)..<active.count {
                    let kj = 1 / (active[j].pT * active[j].pT)
                    let dr = active[i].deltaR(active[j])
                    let d = min(ki, kj) * dr * dr / r2
                    if d < best { best = d; bi = i; bj = j }
                }
            }
            if bj < 0 {
                jets.append(active.remove(at: bi))
            } else {
                active[bi] = active[bi] + active[bj]
                active.remove(at: bj)
            }
        }
        return jets
    }

    /// Clusters, smears and selects jets (pT > min, |eta| < max), ordered by pT.
    public func jets(from partons: [FourMomentum], _ rng: RNGStream) -> [FourMomentum] {
        var out: [FourMomentum] = []
        out.reserveCapacity(partons.count)
        for cluster in FastDetector.antiKT(partons, radius: card.jetRadius) {
            guard let j = jet(cluster, rng), j.pT > card.jetMinimumPT, abs(j.eta) < card.jetMaximumEta else { continue }
            out.append(j)
        }
        if out.count == 2 { return out[0].pT >= out[1].pT ? out : [out[1], out[0]] }
        return out.sorted { $0.pT > $1.pT }
    }

    /// The detector view of an event: both leptons must be reconstructed (same flavour, opposite
    /// sign by construction, matched by charge), else nil. Jets are not yet selected by count.
    public func reconstruct(_ hard: HardEvent, emissions: [FourMomentum] = [], _ rng: RNGStream) -> DetectorEvent? {
        guard let lm = lepton(hard.leptonMinus, hard.flavour, rng),
              let lp = lepton(hard.leptonPlus, hard.flavour, rng) else { return nil }
        let quarks = FastDetector.radiateQuarks(hard.quark1, hard.quark2, card.quarkRadiation, rng)
        return DetectorEvent(leptonMinus: lm, leptonPlus: lp, jets: jets(from: quarks + emissions, rng),
                             flavour: hard.flavour)
    }

    /// The zw selection of one hard event without ISR (what `ZWSimulation` keeps): both leptons
    /// reconstructed and exactly two jets, matched to the two quarks (`match`); nil otherwise.
    public func selectTwoJetEvent(_ hard: HardEvent, _ rng: RNGStream) -> DetectorEvent? {
        guard let event = reconstruct(hard, rng), match(quarks: (hard.quark1, hard.quark2), jets: event.jets) != nil else { return nil }
        return event
    }

    /// Jet-parton matching by angle for two partons and two jets: the assignment with the smaller
    /// sum of Delta R; nil unless both Delta R < matchRadius. Returns jet indices for (q1, q2).
    public func match(quarks: (FourMomentum, FourMomentum), jets: [FourMomentum]) -> (Int, Int)? {
        guard jets.count == 2 else { return nil }
        let q = [(quarks.0.eta, quarks.0.phi), (quarks.1.eta, quarks.1.phi)], j = [(jets[0].eta, jets[0].phi), (jets[1].eta, jets[1].phi)]
        func dR(_ a: (Double, Double), _ b: (Double, Double)) -> Double {
            let dPhi = FourMomentum.wrapPhi(a.1 - b.1)
            return ((a.0 - b.0) * (a.0 - b.0) + dPhi * dPhi).squareRoot()
        }
        let straight = (dR(q[0], j[0]), dR(q[1], j[1]))
        let crossed = (dR(q[0], j[1]), dR(q[1], j[0]))
        let (pair, d) = straight.0 + straight.1 <= crossed.0 + crossed.1 ? ((0, 1), straight) : ((1, 0), crossed)
        return max(d.0, d.1) < card.matchRadius ? pair : nil
    }
}
