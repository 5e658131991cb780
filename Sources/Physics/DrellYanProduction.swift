import Foundation
import Tensor

/// pp -> Z -> e+ e- at sqrt(s) = 13 TeV (thesis eq. 6.36): massless leptons, no transverse
/// momentum, hence 4 free dimensions. m_ee is a relativistic Breit-Wigner truncated to
/// [minimumMass, maximumMass]; the rapidity has weight [(1 - x1)(1 - x2)]^c; the electron angle
/// in the Z frame follows 1 + cos^2 + B cos (B: forward-backward asymmetry, along the quark).
public struct DrellYanParameters: Equatable {
    public var sqrtS = 13_000.0
    public var zMass = 91.1876, zWidth = 2.4952
    public var minimumMass = 60.0, maximumMass = 120.0
    public var pdfPower = 4.0
    public var asymmetryB = 0.1
    public init() {}

    public var record: [String: Double] {
        ["sqrt_s": sqrtS, "m_Z": zMass, "Gamma_Z": zWidth, "minimum_mass": minimumMass,
         "maximum_mass": maximumMass, "pdf_power": pdfPower, "asymmetry_B": asymmetryB]
    }
}

public struct DrellYanProduction {
    /// Columns: the common lepton pT, the two pseudorapidities and the electron azimuth
    /// (phi_e+ = phi_e- + pi).
    public static let columns = ["pT_e", "eta_e-", "eta_e+", "phi_e-"]
    public let parameters: DrellYanParameters
    public init(parameters: DrellYanParameters = DrellYanParameters()) { self.parameters = parameters }

    /// One event: (e-, e+).
    public func generate(_ rng: RNGStream) -> (electron: FourMomentum, positron: FourMomentum) {
        let p = parameters
        let mg = p.zMass * p.zWidth
        let a = atan((p.minimumMass * p.minimumMass - p.zMass * p.zMass) / mg)
        let b = atan((p.maximumMass * p.maximumMass - p.zMass * p.zMass) / mg)
        let m = (p.zMass * p.zMass + mg * tan(a + (b - a) * rng.uniform())).squareRoot()
        let y = ZWProduction.rapidity(tau: m * m / (p.sqrtS * p.sqrtS), power: p.pdfPower, rng)
        var c = 0.0
        let top = 2 + abs(p.asymmetryB)
        repeat { c = rng.uniform(-1, 1) } while rng.uniform() * top >= 1 + c * c + p.asymmetryB * c
        if y < 0 { c = -c }
        let (e, ebar) = masslessDecayAtRest(mass: m, cosTheta: c, phi: rng.uniform(-.pi, .pi))
        let beam = (0.0, 0.0, tanh(y))
        return (e.boosted(by: beam), ebar.boosted(by: beam))
    }

    /// The four free coordinates of an event (see `columns`).
    public static func coordinates(_ e: FourMomentum, _ ebar: FourMomentum) -> [Double] { [e.pT, e.eta, ebar.eta, e.phi] }

    /// Four-momenta back from the coordinates.
    public static func momenta(_ x: [Double]) -> (electron: FourMomentum, positron: FourMomentum) {
        (FourMomentum(pT: x[0], eta: x[1], phi: x[3]), FourMomentum(pT: x[0], eta: x[2], phi: FourMomentum.wrapPhi(x[3] + .pi)))
    }

    /// A single-level sample (no detector; selection efficiency 1).
    public func sample(events count: Int, rng: RNGStream) -> EventSample {
        var values: [Double] = []
        values.reserveCapacity(count * 4)
        for _ in 0..<count {
            let (e, ebar) = generate(rng)
            values += DrellYanProduction.coordinates(e, ebar)
        }
        return EventSample(generator: ColliderProcess.drellYan.rawValue, seed: rng.seed,
                           events: .init(columns: DrellYanProduction.columns, rows: count, values: values),
                           parameters: parameters.record)
    }
}
