import Foundation
import Tensor

/// pp -> t tbar -> (b q1 q2)(bbar q3 q4) at parton level, the sample of "How to GAN LHC events"
/// (talk 002): Breit-Wigner tops and W's (truncated to M +- massWindow Gamma), six massless
/// partons. The pair mass follows beta (m0/m)^n above m0 = m_t + m_tbar (a falling luminosity
/// times the two-body phase space: m = m0 u^(-1/(n-1)) accepted with probability beta), the pair
/// rapidity the weight [(1 - x1)(1 - x2)]^c of every Refold process, and the production angle and
/// all decays are isotropic in their rest frames. The W daughters are pT ordered within their W
/// (q1 above q2, q3 above q4): the roles (b from the top, W daughters) stay, so m_t = m(b q1 q2)
/// and m_W = m(q1 q2) are computed from the sample.
public struct TTbarParameters: Equatable {
    /// Collider energy (GeV).
    public var sqrtS = 13_000.0
    /// Top and W Breit-Wigners (GeV), each truncated to M +- massWindow Gamma.
    public var topMass = 172.5, topWidth = 1.42, wMass = 80.379, wWidth = 2.085, massWindow = 15.0
    /// n of the pair-mass falloff (m0/m)^n and c of the rapidity weight [(1 - x1)(1 - x2)]^c.
    public var luminosityPower = 6.0, pdfPower = 4.0

    public init() {}

    public var record: [String: Double] {
        ["sqrt_s": sqrtS, "m_t": topMass, "Gamma_t": topWidth, "m_W": wMass, "Gamma_W": wWidth,
         "mass_window_widths": massWindow, "luminosity_power": luminosityPower, "pdf_power": pdfPower]
    }

    /// Throws unless every top can decay to b W inside the windows and the spectrum is normalisable.
    public func validated() throws -> TTbarParameters {
        guard topMass > 0, topWidth > 0, wMass > 0, wWidth > 0, massWindow > 0, luminosityPower > 1, pdfPower >= 0 else {
            throw RefoldError.value("ttbar parameters", expected: "positive masses, widths, window, luminosity power > 1, pdf power >= 0",
                                    actual: record.sorted { $0.key < $1.key }.map { "\($0.key) = \($0.value)" }.joined(separator: ", "))
        }
        guard topMass - massWindow * topWidth > wMass + massWindow * wWidth else {
            throw RefoldError.value("m_t - window", expected: "above m_W + window = \(wMass + massWindow * wWidth)", actual: topMass - massWindow * topWidth)
        }
        guard 2 * (topMass + massWindow * topWidth) < sqrtS else {
            throw RefoldError.value("sqrt_s", expected: "above the highest threshold \(2 * (topMass + massWindow * topWidth))", actual: sqrtS)
        }
        return self
    }
}

/// One ttbar event: the top's b and W daughters (q1 above q2 in pT), the antitop's (q3 above q4).
public struct TTbarEvent: Equatable {
    public var b: FourMomentum, q1: FourMomentum, q2: FourMomentum
    public var bbar: FourMomentum, q3: FourMomentum, q4: FourMomentum

    public init(b: FourMomentum, q1: FourMomentum, q2: FourMomentum, bbar: FourMomentum, q3: FourMomentum, q4: FourMomentum) {
        self.b = b; self.q1 = q1; self.q2 = q2; self.bbar = bbar; self.q3 = q3; self.q4 = q4
    }

    public var partons: [FourMomentum] { [b, q1, q2, bbar, q3, q4] }
    public var top: FourMomentum { b + q1 + q2 }
    public var antitop: FourMomentum { bbar + q3 + q4 }
    public var wPlus: FourMomentum { q1 + q2 }
    public var wMinus: FourMomentum { q3 + q4 }
}

public struct TTbarProduction {
    public let parameters: TTbarParameters
    private let topShape: BreitWigner, wShape: BreitWigner

    public init(parameters: TTbarParameters = TTbarParameters()) throws {
        self.parameters = try parameters.validated()
        topShape = BreitWigner(mass: parameters.topMass, width: parameters.topWidth, window: parameters.massWindow)
        wShape = BreitWigner(mass: parameters.wMass, width: parameters.wWidth, window: parameters.massWindow)
    }

    public static let objects = ["b", "q1", "q2", "bbar", "q3", "q4"]
    public static let columns = objects.flatMap { o in ["pT", "eta", "phi"].map { "\($0)_\(o)" } }

    /// The two-body decay of a particle of mass m at rest into daughters of masses m1, m2, the first
    /// along (sin theta cos phi, sin theta sin phi, cos theta): |p| = sqrt(lambda(m^2, m1^2, m2^2)) / 2m.
    static func decayAtRest(mass m: Double, _ m1: Double, _ m2: Double, cosTheta: Double, phi: Double) -> (FourMomentum, FourMomentum) {
        let lambda = (m * m - (m1 + m2) * (m1 + m2)) * (m * m - (m1 - m2) * (m1 - m2))
        let p = max(0, lambda).squareRoot() / (2 * m)
        let sinTheta = max(0, 1 - cosTheta * cosTheta).squareRoot()
        let x = p * sinTheta * cos(phi), y = p * sinTheta * sin(phi), z = p * cosTheta
        return (FourMomentum(e: (p * p + m1 * m1).squareRoot(), px: x, py: y, pz: z),
                FourMomentum(e: (p * p + m2 * m2).squareRoot(), px: -x, py: -y, pz: -z))
    }

    /// t -> b W -> b q q' in the top's rest frame, the W daughters by descending pT after `toLab`.
    func topDecay(mass mt: Double, _ rng: RNGStream, toLab: (FourMomentum) -> FourMomentum) -> (b: FourMomentum, q: FourMomentum, qbar: FourMomentum) {
        let mw = wShape.draw(rng)
        let (b, w) = Self.decayAtRest(mass: mt, 0, mw, cosTheta: rng.uniform(-1, 1), phi: rng.uniform(-.pi, .pi))
        let (qa, qb) = masslessDecayAtRest(mass: mw, cosTheta: rng.uniform(-1, 1), phi: rng.uniform(-.pi, .pi))
        let la = toLab(qa.fromRestFrame(of: w)), lb = toLab(qb.fromRestFrame(of: w))
        return (toLab(b), la.pT >= lb.pT ? la : lb, la.pT >= lb.pT ? lb : la)
    }

    /// One event.
    public func generate(_ rng: RNGStream) -> TTbarEvent {
        let p = parameters
        let m1 = topShape.draw(rng), m2 = topShape.draw(rng), m0 = m1 + m2
        var m: Double
        repeat {
            m = m0 * pow(rng.uniformPositive(), -1 / (p.luminosityPower - 1))
        } while m >= p.sqrtS || rng.uniform() >= (1 - (m0 / m) * (m0 / m)).squareRoot()
        let y = ZWProduction.rapidity(tau: m * m / (p.sqrtS * p.sqrtS), power: p.pdfPower, rng)
        let (top, antitop) = Self.decayAtRest(mass: m, m1, m2, cosTheta: rng.uniform(-1, 1), phi: rng.uniform(-.pi, .pi))
        let beam = (0.0, 0.0, tanh(y))
        let t = topDecay(mass: m1, rng) { $0.fromRestFrame(of: top).boosted(by: beam) }
        let tbar = topDecay(mass: m2, rng) { $0.fromRestFrame(of: antitop).boosted(by: beam) }
        return TTbarEvent(b: t.b, q1: t.q, q2: t.qbar, bbar: tbar.b, q3: tbar.q, q4: tbar.qbar)
    }

    /// A single-level sample: `events.npy` with `columns` (pT, eta, phi of b, q1, q2, bbar, q3, q4).
    public func sample(events count: Int, rng: RNGStream) -> EventSample {
        var values: [Double] = []
        values.reserveCapacity(count * 18)
        for _ in 0..<count {
            for q in generate(rng).partons { values += [q.pT, q.eta, q.phi] }
        }
        return EventSample(generator: "ttbar", seed: rng.seed, events: .init(columns: Self.columns, rows: count, values: values),
                           parameters: parameters.record)
    }
}

/// The invertible map between a ttbar event and the 17 unbounded coordinates of a generator flow:
/// per parton (b, q1, q2, bbar, q3, q4) log pT and eta, and the azimuths relative to the b's,
/// opened by atanh(wrap(phi - phi_b) / pi); phi_b is dropped (rotation symmetry) and drawn flat
/// when an event is rebuilt. No resonance knowledge: the peaks of m_t and m_W are what a generator
/// must learn from the partons (talk 002).
public enum TTbarCoordinates {
    public static let dimension = 17

    public static func coordinates(_ e: TTbarEvent) -> [Double] {
        let partons = e.partons, phi0 = e.b.phi
        var x: [Double] = []
        for (k, p) in partons.enumerated() {
            x += [log(p.pT), p.eta]
            if k > 0 { x.append(atanh(max(-1 + 1e-7, min(1 - 1e-7, FourMomentum.wrapPhi(p.phi - phi0) / .pi)))) }
        }
        return x
    }

    /// The event of coordinates `x` with the b at azimuth `phi0` (log pT capped at log 8 TeV).
    public static func event(_ x: ArraySlice<Double>, phi0: Double) -> TTbarEvent {
        let x = Array(x)
        precondition(x.count == dimension, "TTbarCoordinates.event: expected \(dimension) coordinates, got \(x.count)")
        let partons = (0..<6).map { k -> FourMomentum in
            let base = k == 0 ? 0 : 3 * k - 1
            let phi = k == 0 ? phi0 : FourMomentum.wrapPhi(phi0 + .pi * tanh(x[base + 2]))
            return FourMomentum(pT: exp(min(x[base], 9)), eta: x[base + 1], phi: phi)
        }
        return TTbarEvent(b: partons[0], q1: partons[1], q2: partons[2], bbar: partons[3], q3: partons[4], q4: partons[5])
    }
}
