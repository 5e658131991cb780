import Foundation
import Tensor

/// The exact, normalised parton-level density p(x | theta) from which `ZWProduction` draws, in the
/// generator's coordinates x = `ZWPartonCoordinates` (quark1 = the leading quark), for
/// theta = (`ZWParameters`, W' fraction f):
///
///     p(x) = BW_Z(m_Z) BW_W(m_W) p(y | m) 1/(2 pi) 1/(4 pi) 2/(4 pi) 1[quark1 leads]
///            [(1 - f) p_Delta(m - m_Z - m_W) g(c; A, B) + f p_W'(m | m_Z + m_W) g(c; A', 0)]
///
/// - BW: the truncated relativistic Breit-Wigner of `BreitWigner` (window M +- k Gamma);
/// - p_Delta: the threshold spectrum as sampled, piecewise constant over the generator's 2001 bins
///   (`ThresholdSpectrum`), not the continuous spectrum beta (m0/m)^n (1 - m/sqrt s)^b: bins are
///   0.64 % wide in Delta, and the two normalised densities differ by 0.19 % in L1 distance at the
///   default parameters (first order in the bin width).
/// - p_W'(m | s) = BW_W'(m) 1[m > s] / P_W'(m > s): the rejection m > m_Z + m_W, normalised
///   exactly with the Breit-Wigner CDF (P = 1 unless the window reaches below s).
/// - p(y | m) = [(1 - x1)(1 - x2)]^c / N(tau), N(tau) its integral over |y| < -log(tau)/2 (GSL QAGS).
/// - g(c; A, B) = (1 + A c^2 + B c) / (2 + 2A/3) for the quark-side cosine c.
/// - Decays: isotropic, 1/(4 pi) each. A `HardEvent` orders its quarks by pT, so its W decay
///   angle is that of the leading quark: the density of the ordered pair sums both assignments,
///   which for an isotropic decay is 2/(4 pi) on the half of the sphere where the quark leads and
///   0 on the other half. The lepton flavour is independent of x and not part of it.
///
/// f = 0 is the `zw` process, f = the configured fraction is `wprime`. A `wprime` sample holds
/// exactly round(f N) W' events (then shuffled), where the mixture draws the count binomially:
/// the per-event density is the same.
public struct ZWDensity {
    public let parameters: ZWParameters
    public let wPrimeFraction: Double
    let zShape: BreitWigner, wShape: BreitWigner, wPrimeShape: BreitWigner
    let spectrum: ThresholdSpectrum

    /// Throws if f is outside [0, 1] or the generator would not draw the density of these
    /// parameters (`ZWParameters.validated()`: for example a negative angular distribution).
    public init(parameters: ZWParameters = ZWParameters(), wPrimeFraction f: Double = 0) throws {
        guard (0...1).contains(f) else { throw RefoldError.value("W' fraction", expected: "a value in [0, 1]", actual: f) }
        _ = try parameters.validated()
        self.parameters = parameters
        wPrimeFraction = f
        zShape = BreitWigner(mass: parameters.zMass, width: parameters.zWidth, window: parameters.massWindow)
        wShape = BreitWigner(mass: parameters.wMass, width: parameters.wWidth, window: parameters.massWindow)
        wPrimeShape = BreitWigner(mass: parameters.wPrimeMass, width: parameters.wPrimeWidth, window: parameters.wPrimeWindow)
        spectrum = ThresholdSpectrum(parameters)
    }

    /// log p(x | theta); -infinity outside the support.
    public func logDensity(_ x: ZWPartonCoordinates) -> Double {
        prepare(x).map(logDensity) ?? -.infinity
    }

    /// log p(x | theta) with N(tau) = `rapidityNormalisation(mass: x.mass)` given: N depends only
    /// on m, sqrt(s) and the PDF power, so a scan over the W mass, the angular coefficients or the
    /// W' fraction computes it once per point (it is the one GSL quadrature of the density).
    public func logDensity(_ x: ZWPartonCoordinates, rapidityNormalisation n: Double) -> Double {
        prepare(x, rapidityNormalisation: n).map(logDensity) ?? -.infinity
    }

    /// A point x with the parts of log p(x | theta) that do not change in a scan of the masses,
    /// widths, angular coefficients or the W' fraction: the support (angles in range and the
    /// W-decay quark leading, which needs the lab momenta) and log(w(y; tau) / N(tau)), which
    /// depends on the parameters only through sqrt(s) and the PDF power. A scan evaluates the
    /// same draws at many theta; preparing them once makes each evaluation a few table look-ups.
    public struct PreparedPoint {
        public let x: ZWPartonCoordinates
        let logRapidity: Double, sqrtS: Double, pdfPower: Double
    }

    /// x prepared for densities with this sqrt(s) and PDF power; nil where p(x | theta) = 0 for
    /// every theta of such a scan.
    public func prepare(_ x: ZWPartonCoordinates, rapidityNormalisation n: Double) -> PreparedPoint? {
        guard let weight = supportWeight(x), n > 0 else { return nil }
        return PreparedPoint(x: x, logRapidity: log(weight / n), sqrtS: parameters.sqrtS, pdfPower: parameters.pdfPower)
    }

    /// `prepare` with N(tau) computed here, only for a point inside the support (the quadrature
    /// is the expensive part, and draws outside the support are common in a scan).
    public func prepare(_ x: ZWPartonCoordinates) -> PreparedPoint? {
        guard let weight = supportWeight(x) else { return nil }
        let n = rapidityNormalisation(mass: x.mass)
        guard n > 0 else { return nil }
        return PreparedPoint(x: x, logRapidity: log(weight / n), sqrtS: parameters.sqrtS, pdfPower: parameters.pdfPower)
    }

    /// The rapidity weight w(y; tau) of a point inside the support, nil outside it.
    func supportWeight(_ x: ZWPartonCoordinates) -> Double? {
        guard abs(x.cosTheta) <= 1, abs(x.zDecayCos) <= 1, abs(x.wDecayCos) <= 1,
              abs(x.phi) <= .pi, abs(x.zDecayPhi) <= .pi, abs(x.wDecayPhi) <= .pi, x.wDecayQuarkLeads else { return nil }
        let weight = ZWProduction.rapidityWeight(x.rapidity, rootTau: x.mass / parameters.sqrtS, power: parameters.pdfPower)
        return weight > 0 ? weight : nil
    }

    /// log p(x | theta) of a prepared point; a point prepared at another sqrt(s) or PDF power is
    /// evaluated in full (with its quadrature).
    public func logDensity(_ point: PreparedPoint) -> Double {
        guard point.sqrtS == parameters.sqrtS, point.pdfPower == parameters.pdfPower else { return logDensity(point.x) }
        let x = point.x
        let masses = zShape.density(x.zMass) * wShape.density(x.wMass)
        let process = partonicMassAndAngleDensity(x.mass, cosTheta: x.cosTheta, threshold: x.zMass + x.wMass)
        return log(masses * process) + point.logRapidity + Self.logAngles
    }

    /// log of 1/(2 pi) 1/(4 pi) 2/(4 pi): the azimuth and the two isotropic decays.
    static let logAngles = log(1 / (2 * Double.pi) * 1 / (4 * Double.pi) * 2 / (4 * Double.pi))

    /// log p of the coordinates of a hard event.
    public func logDensity(_ event: HardEvent) -> Double { logDensity(ZWPartonCoordinates(event)) }

    // MARK: Normalised factors

    /// BW_Z(m) and BW_W(m), and their CDFs.
    public func zMassDensity(_ m: Double) -> Double { zShape.density(m) }
    public func wMassDensity(_ m: Double) -> Double { wShape.density(m) }
    public func wMassCDF(_ m: Double) -> Double { wShape.cdf(m) }
    /// The inverse of `wMassCDF` (u in [0, 1]; the window's edges at 0 and 1).
    public func wMassQuantile(_ u: Double) -> Double { wShape.quantile(u) }

    /// The sampled threshold-excess density p_Delta and its CDF.
    public func thresholdExcessDensity(_ delta: Double) -> Double { spectrum.density(delta) }
    public func thresholdExcessCDF(_ delta: Double) -> Double { spectrum.cdf(delta) }

    /// p_W'(m | s): the W' Breit-Wigner above the threshold s = m_Z + m_W; 0 if the window lies
    /// entirely below s (the generator would not terminate).
    public func wPrimeMassDensity(_ m: Double, threshold s: Double) -> Double {
        let above = 1 - wPrimeShape.cdf(s)
        return m > s && above > 0 ? wPrimeShape.density(m) / above : 0
    }

    /// P(m_ZW < m | m_Z + m_W = s) of the mixture.
    public func partonicMassCDF(_ m: Double, threshold s: Double) -> Double {
        let f = wPrimeFraction
        let sm = f < 1 ? (1 - f) * spectrum.cdf(m - s) : 0
        guard f > 0 else { return sm }
        let above = 1 - wPrimeShape.cdf(s)
        return sm + (m > s && above > 0 ? f * (wPrimeShape.cdf(m) - wPrimeShape.cdf(s)) / above : 0)
    }

    /// The joint density of m_ZW and the quark-side cos theta given s = m_Z + m_W (the mixture).
    public func partonicMassAndAngleDensity(_ m: Double, cosTheta c: Double, threshold s: Double) -> Double {
        let f = wPrimeFraction, p = parameters
        let sm = f < 1 ? (1 - f) * spectrum.density(m - s) * Self.angularDensity(c, a: p.angularA, b: p.angularB) : 0
        let wp = f > 0 ? f * wPrimeMassDensity(m, threshold: s) * Self.angularDensity(c, a: p.wPrimeAngularA, b: 0) : 0
        return sm + wp
    }

    /// The marginal density of the quark-side cos theta: (1 - f) g(c; A, B) + f g(c; A', 0), and its CDF.
    public func productionAngleDensity(_ c: Double) -> Double {
        let p = parameters, f = wPrimeFraction
        return (1 - f) * Self.angularDensity(c, a: p.angularA, b: p.angularB) + f * Self.angularDensity(c, a: p.wPrimeAngularA, b: 0)
    }
    public func productionAngleCDF(_ c: Double) -> Double {
        let p = parameters, f = wPrimeFraction
        return (1 - f) * Self.angularCDF(c, a: p.angularA, b: p.angularB) + f * Self.angularCDF(c, a: p.wPrimeAngularA, b: 0)
    }

    /// g(c; A, B) = (1 + A c^2 + B c) / (2 + 2A/3) on [-1, 1].
    public static func angularDensity(_ c: Double, a: Double, b: Double) -> Double {
        abs(c) <= 1 ? (1 + a * c * c + b * c) / (2 + 2 * a / 3) : 0
    }

    /// The integral of g from -1 to c.
    public static func angularCDF(_ c: Double, a: Double, b: Double) -> Double {
        let x = min(max(c, -1), 1)
        return (x + 1 + a * (x * x * x + 1) / 3 + b * (x * x - 1) / 2) / (2 + 2 * a / 3)
    }

    /// |y| below which both momentum fractions stay below 1: -log(tau)/2, tau = m^2/s.
    public func rapidityLimit(mass m: Double) -> Double { -log(m / parameters.sqrtS) }

    /// N(tau): the integral of [(1 - x1)(1 - x2)]^c over |y| < -log(tau)/2 (GSL QAGS, relative 1e-10).
    public func rapidityNormalisation(mass m: Double) -> Double {
        let rootTau = m / parameters.sqrtS, c = parameters.pdfPower, yMax = rapidityLimit(mass: m)
        // Symmetric in y: twice the integral over [0, yMax].
        return 2 * Quadrature.integrate(0, yMax, relative: 1e-10) { ZWProduction.rapidityWeight($0, rootTau: rootTau, power: c) }
    }

    /// p(y | m) = [(1 - x1)(1 - x2)]^c / N(tau).
    public func rapidityDensity(_ y: Double, mass m: Double) -> Double {
        let weight = ZWProduction.rapidityWeight(y, rootTau: m / parameters.sqrtS, power: parameters.pdfPower)
        return weight > 0 ? weight / rapidityNormalisation(mass: m) : 0
    }

    /// P(rapidity < y | m) (two GSL integrations).
    public func rapidityCDF(_ y: Double, mass m: Double) -> Double {
        let yMax = rapidityLimit(mass: m)
        if y <= -yMax { return 0 }
        if y >= yMax { return 1 }
        let rootTau = m / parameters.sqrtS, c = parameters.pdfPower
        let below = Quadrature.integrate(-yMax, y, relative: 1e-10) { ZWProduction.rapidityWeight($0, rootTau: rootTau, power: c) }
        return below / rapidityNormalisation(mass: m)
    }
}

/// N(tau) of `ZWDensity.rapidityNormalisation` tabulated once per (sqrt(s), PDF power): log N on
/// `nodes` points equally spaced in log m from `low` to sqrt(s)/2, read by 4-point Lagrange
/// interpolation (error below 1e-10 relative, `ZWDensityTests.testRapidityNormalisationTable`);
/// masses outside the table get the quadrature. A flow scan over the W mass moves every draw's
/// partonic mass, so it needs N(tau) per draw and hypothesis: a table look-up instead of a GSL
/// quadrature.
public struct RapidityNormalisationTable {
    public let sqrtS: Double, pdfPower: Double
    let logLow: Double, step: Double, logN: [Double]
    let density: ZWDensity

    public init(_ density: ZWDensity, low: Double = 20, nodes: Int = 8_192) {
        self.density = density
        sqrtS = density.parameters.sqrtS; pdfPower = density.parameters.pdfPower
        logLow = log(low)
        step = (log(0.5 * sqrtS) - logLow) / Double(nodes - 1)
        logN = (0..<nodes).map { [logLow, step] i in log(density.rapidityNormalisation(mass: exp(logLow + step * Double(i)))) }
    }

    /// N(tau) at partonic mass m.
    public func value(mass m: Double) -> Double {
        let t = (log(m) - logLow) / step
        let i = Int(t.rounded(.down)) - 1
        guard t.isFinite, i >= 0, i + 3 < logN.count else { return density.rapidityNormalisation(mass: m) }
        let x = t - Double(i)   // in [1, 2): nodes at 0, 1, 2, 3
        let l0 = -(x - 1) * (x - 2) * (x - 3) / 6, l1 = x * (x - 2) * (x - 3) / 2
        let l2 = -x * (x - 1) * (x - 3) / 2, l3 = x * (x - 1) * (x - 2) / 6
        return exp(l0 * logN[i] + l1 * logN[i + 1] + l2 * logN[i + 2] + l3 * logN[i + 3])
    }

    /// The table of these parameters' sqrt(s) and PDF power, built on first use and shared.
    public static func shared(for density: ZWDensity) -> RapidityNormalisationTable {
        let key = Key(sqrtS: density.parameters.sqrtS, pdfPower: density.parameters.pdfPower)
        return store.lock.withLock {
            if let table = store.tables[key] { return table }
            let table = RapidityNormalisationTable(density)
            store.tables[key] = table
            return table
        }
    }

    struct Key: Hashable { let sqrtS: Double, pdfPower: Double }
    final class Store: @unchecked Sendable {
        let lock = NSLock()
        var tables: [Key: RapidityNormalisationTable] = [:]
    }
    static let store = Store()
}
