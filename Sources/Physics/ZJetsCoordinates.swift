import Foundation
import Tensor

/// The invertible map between a Z + n jets event and the 5 + 3n unbounded coordinates a generator
/// flow learns (before standardisation):
///
///     log pT_mu-, eta_mu-, log pT_mu+, eta_mu+, atanh(wrap(phi_mu+ - phi_mu- - pi) / pi),
///     per jet k: log(pT_jk - pT_min), eta_jk, atanh(wrap(phi_jk - phi_mu-) / pi)
///
/// The global azimuth phi_mu- is dropped (the physics is symmetric under rotations about the beam)
/// and drawn flat when an event is rebuilt; azimuths are taken relative to it, the muons'
/// difference about its back-to-back value pi, and the bounded interval (-pi, pi) is opened to R
/// by atanh. log(pT - pT_min) keeps generated jets above the threshold. Rebuilt jets are sorted by
/// descending pT (the flow does not know the ordering).
public struct ZJetsCoordinates: Codable, Equatable, Sendable {
    public var jets: Int
    public var jetMinimumPT: Double

    public init(jets: Int, jetMinimumPT: Double) throws {
        guard jets >= 1, jetMinimumPT >= 0 else {
            throw RefoldError.value("ZJetsCoordinates", expected: "jets >= 1, jet threshold >= 0", actual: "\(jets), \(jetMinimumPT)")
        }
        self.jets = jets; self.jetMinimumPT = jetMinimumPT
    }

    public var dimension: Int { 5 + 3 * jets }

    /// atanh(x / pi) for x in (-pi, pi], clamped 1e-7 inside the end points.
    static func open(_ phi: Double) -> Double { atanh(max(-1 + 1e-7, min(1 - 1e-7, phi / .pi))) }
    static func close(_ u: Double) -> Double { .pi * tanh(u) }

    /// The coordinates of an event with exactly `jets` jets (each above the threshold).
    public func coordinates(_ e: ZJetsEvent) throws -> [Double] {
        guard e.jets.count == jets else { throw RefoldError.value("jets in the event", expected: "\(jets)", actual: e.jets.count) }
        let phi0 = e.muMinus.phi
        var x = [log(e.muMinus.pT), e.muMinus.eta, log(e.muPlus.pT), e.muPlus.eta,
                 Self.open(FourMomentum.wrapPhi(e.muPlus.phi - phi0 - .pi))]
        for j in e.jets {
            guard j.pT > jetMinimumPT else { throw RefoldError.value("jet pT", expected: "above the threshold \(jetMinimumPT)", actual: j.pT) }
            x += [log(j.pT - jetMinimumPT), j.eta, Self.open(FourMomentum.wrapPhi(j.phi - phi0))]
        }
        return x
    }

    /// The event of coordinates `x` with mu- at azimuth `phi0`, jets sorted by descending pT.
    public func event(_ x: ArraySlice<Double>, phi0: Double) -> ZJetsEvent {
        let x = Array(x)
        precondition(x.count == dimension, "ZJetsCoordinates.event: expected \(dimension) coordinates, got \(x.count)")
        let muMinus = FourMomentum(pT: exp(x[0]), eta: x[1], phi: phi0)
        let muPlus = FourMomentum(pT: exp(x[2]), eta: x[3], phi: FourMomentum.wrapPhi(phi0 + .pi + Self.close(x[4])))
        let jetList = (0..<jets).map { k in
            FourMomentum(pT: jetMinimumPT + exp(x[5 + 3 * k]), eta: x[6 + 3 * k], phi: FourMomentum.wrapPhi(phi0 + Self.close(x[7 + 3 * k])))
        }
        return ZJetsEvent(muMinus: muMinus, muPlus: muPlus, jets: jetList.sorted { $0.pT > $1.pT })
    }
}
