import CGSL
import Foundation
import Tensor

/// Parameters of pp -> ZW -> (l- l+)(q q') and of the W' resonance (thesis eqs. 4.1, 4.14, 5.10).
///
/// The partonic mass follows dsigma/dm ∝ beta (m0/m)^n (1 - m/sqrt s)^b above threshold
/// m0 = m_Z + m_W, with beta = sqrt(1 - (m0/m)^2): a falling parton luminosity times an
/// S-wave threshold. The ZW rapidity y has weight [(1 - x1)(1 - x2)]^c with x1,2 = sqrt(tau) e^(+-y).
/// The production angle in the ZW frame follows 1 + A cos^2 + B cos (B > 0 favours the boson
/// along the incoming quark, taken from the larger-x proton).
public struct ZWParameters: Equatable {
    /// Collider energy sqrt(s) in GeV.
    public var sqrtS = 13_000.0
    public var zMass = 91.1876, zWidth = 2.4952
    public var wMass = 80.379, wWidth = 2.085
    /// Breit-Wigner masses are truncated to M +- massWindow * Gamma.
    public var massWindow = 15.0
    /// Luminosity falloff n in (m0/m)^n.
    public var luminosityPower = 6.0
    /// High-mass suppression b in (1 - m/sqrt s)^b.
    public var highMassPower = 10.0
    /// Upper end of the partonic mass spectrum (GeV).
    public var maximumMass = 4_000.0
    /// Rapidity weight c in [(1 - x1)(1 - x2)]^c.
    public var pdfPower = 4.0
    /// Standard-model production angle 1 + A cos^2 + B cos.
    public var angularA = 1.0, angularB = 0.3
    /// W' mass and width (GeV), truncated to M +- wPrimeWindow * Gamma.
    public var wPrimeMass = 1_300.0, wPrimeWidth = 15.0, wPrimeWindow = 20.0
    /// W' production angle 1 + A cos^2 (A = -1: sin^2 theta, longitudinal bosons).
    public var wPrimeAngularA = -1.0
    /// Fraction of Z -> e+ e- (the rest is Z -> mu+ mu-).
    public var electronFraction = 0.5

    public init() {}

    /// Every field by its name in `meta.json` and in `refold generate --set NAME=VALUE`.
    public static let fields: [(name: String, keyPath: WritableKeyPath<ZWParameters, Double>)] = [
        ("sqrt_s", \.sqrtS), ("m_Z", \.zMass), ("Gamma_Z", \.zWidth), ("m_W", \.wMass), ("Gamma_W", \.wWidth),
        ("mass_window_widths", \.massWindow), ("luminosity_power", \.luminosityPower), ("high_mass_power", \.highMassPower),
        ("maximum_mass", \.maximumMass), ("pdf_power", \.pdfPower), ("angular_A", \.angularA), ("angular_B", \.angularB),
        ("m_Wprime", \.wPrimeMass), ("Gamma_Wprime", \.wPrimeWidth), ("Wprime_window_widths", \.wPrimeWindow),
        ("angular_A_Wprime", \.wPrimeAngularA), ("electron_fraction", \.electronFraction),
    ]

    /// The numbers recorded in `meta.json`: every field of `fields`.
    public var record: [String: Double] {
        Dictionary(uniqueKeysWithValues: Self.fields.map { ($0.name, self[keyPath: $0.keyPath]) })
    }

    /// These parameters with the field `name` (a name of `fields`) set to `value`, parsed as a
    /// finite number. Throws if the name is unknown (the message lists the valid names) or the
    /// value is not a finite number (the message names the key and the value).
    public func setting(_ name: String, to value: String) throws -> ZWParameters {
        guard let field = Self.fields.first(where: { $0.name == name }) else {
            throw RefoldError.value("ZW parameter name", expected: "one of \(Self.fields.map(\.name).joined(separator: ", "))", actual: name)
        }
        guard let number = Double(value.trimmingCharacters(in: .whitespaces)), number.isFinite else {
            throw RefoldError.value("ZW parameter \(name)", expected: "a finite number", actual: "'\(value)'")
        }
        var parameters = self
        parameters[keyPath: field.keyPath] = number
        return parameters
    }

    /// Throws unless the generator draws the density these parameters describe: positive masses,
    /// widths and windows, threshold < maximum mass < sqrt s, a non-negative pdf power (the
    /// rapidity sampler's envelope is the weight at y = 0), production angles 1 + A c^2 + B c >= 0
    /// on [-1, 1], an electron fraction in [0, 1], and a W' window reaching above the highest
    /// m_Z + m_W.
    public func validated() throws -> ZWParameters {
        for name in ["sqrt_s", "m_Z", "Gamma_Z", "m_W", "Gamma_W", "mass_window_widths", "m_Wprime", "Gamma_Wprime", "Wprime_window_widths"] {
            guard let value = record[name], value > 0 else { throw RefoldError.value(name, expected: "a positive number", actual: record[name] ?? .nan) }
        }
        guard maximumMass > zMass + wMass, maximumMass < sqrtS else {
            throw RefoldError.value("maximum_mass", expected: "between m_Z + m_W = \(zMass + wMass) and sqrt_s = \(sqrtS)", actual: maximumMass)
        }
        guard pdfPower >= 0 else { throw RefoldError.value("pdf_power", expected: "a number >= 0", actual: pdfPower) }
        for (name, a, b) in [("angular_A, angular_B", angularA, angularB), ("angular_A_Wprime", wPrimeAngularA, 0)] {
            // The minimum over [-1, 1]: an end point, or the vertex -B/2A if A > 0 and it is inside.
            let vertex = a > 0 && abs(b) < 2 * a ? 1 - b * b / (4 * a) : 1
            guard min(1 + a - abs(b), vertex) >= 0 else {
                throw RefoldError.value(name, expected: "1 + A c^2 + B c >= 0 on [-1, 1]", actual: "A = \(a), B = \(b)")
            }
        }
        guard (0...1).contains(electronFraction) else { throw RefoldError.value("electron_fraction", expected: "a value in [0, 1]", actual: electronFraction) }
        let highestThreshold = zMass + wMass + massWindow * (zWidth + wWidth)
        guard wPrimeMass + wPrimeWindow * wPrimeWidth > highestThreshold else {
            throw RefoldError.value("m_Wprime + Wprime_window_widths Gamma_Wprime", expected: "above m_Z + m_W at the window tops, \(highestThreshold)",
                                    actual: wPrimeMass + wPrimeWindow * wPrimeWidth)
        }
        return self
    }

    /// These parameters with every `NAME=VALUE` assignment applied in order (see `setting(_:to:)`).
    public func setting(_ assignments: [String]) throws -> ZWParameters {
        try assignments.reduce(self) { parameters, assignment in
            guard let equals = assignment.firstIndex(of: "=") else {
                throw RefoldError.value("ZW parameter assignment", expected: "NAME=VALUE", actual: "'\(assignment)'")
            }
            return try parameters.setting(String(assignment[..<equals]).trimmingCharacters(in: .whitespaces),
                                          to: String(assignment[assignment.index(after: equals)...]))
        }
    }
}

/// The lepton flavour of Z -> l- l+.
public enum LeptonFlavour: Int, Equatable { case electron = 11, muon = 13 }

/// The hard process: four massless final-state partons, quarks ordered by pT.
public struct HardEvent: Equatable {
    public var leptonMinus: FourMomentum, leptonPlus: FourMomentum
    public var quark1: FourMomentum, quark2: FourMomentum
    public var flavour: LeptonFlavour
    public var isWPrime: Bool

    /// The quarks as given: callers that build events by hand order them by pT themselves.
    public init(leptonMinus: FourMomentum, leptonPlus: FourMomentum, quark1: FourMomentum, quark2: FourMomentum,
                flavour: LeptonFlavour, isWPrime: Bool) {
        self.leptonMinus = leptonMinus; self.leptonPlus = leptonPlus; self.quark1 = quark1; self.quark2 = quark2
        self.flavour = flavour; self.isWPrime = isWPrime
    }

    public var particles: [FourMomentum] { [leptonMinus, leptonPlus, quark1, quark2] }
    public var total: FourMomentum { leptonMinus + leptonPlus + quark1 + quark2 }

    /// Applies a Lorentz map to every particle (recoil, boosts).
    public func mapped(_ f: (FourMomentum) -> FourMomentum) -> HardEvent {
        var e = self
        e.leptonMinus = f(leptonMinus); e.leptonPlus = f(leptonPlus); e.quark1 = f(quark1); e.quark2 = f(quark2)
        return e
    }
}

/// Relativistic Breit-Wigner mass by inverse CDF in m^2: m^2 = M^2 + M Gamma tan(theta),
/// theta uniform between the images a, b of the window [M - k Gamma, M + k Gamma]. Its density in m
/// is d theta/dm / (b - a) = 2 m M Gamma / [((m^2 - M^2)^2 + M^2 Gamma^2)(b - a)] on the window.
struct BreitWigner {
    let m2: Double, mg: Double, a: Double, b: Double
    let low: Double, high: Double
    init(mass m: Double, width: Double, window k: Double) {
        low = max(0, m - k * width); high = m + k * width
        m2 = m * m; mg = m * width
        a = atan((low * low - m2) / mg); b = atan((high * high - m2) / mg)
    }
    @inline(__always) func draw(_ rng: RNGStream) -> Double { quantile(rng.uniform()) }

    /// The inverse CDF: the mass below which a fraction u of the window's probability lies.
    @inline(__always) func quantile(_ u: Double) -> Double { (m2 + mg * tan(a + (b - a) * u)).squareRoot() }

    /// The normalised density in m (zero outside the window).
    func density(_ m: Double) -> Double {
        guard m >= low, m <= high else { return 0 }
        let d = m * m - m2
        return 2 * m * mg / ((d * d + mg * mg) * (b - a))
    }

    /// The probability of a mass below m.
    func cdf(_ m: Double) -> Double {
        if m <= low { return 0 }
        if m >= high { return 1 }
        return (atan((m * m - m2) / mg) - a) / (b - a)
    }
}

/// The partonic-mass spectrum above threshold as the generator samples it: 2001 bins in
/// Delta = m - m0 (m0 = m_Z + m_W of the parameters, not of the event), [0, 0.01 GeV] and then
/// log-spaced up to maximumMass - m0; bin i has probability proportional to spectrum(mid_i) times
/// its width, and Delta is uniform inside the bin. The sampled density is therefore piecewise
/// constant, not the continuous spectrum.
struct ThresholdSpectrum {
    let edges: [Double]
    /// Unnormalised bin weights (what the alias table is built from) and their normalised
    /// cumulative sums at the edges.
    let weights: [Double], cumulative: [Double]
    /// bins / log(r), for the direct bin look-up (0 if the edges are not increasing).
    let binsPerLogUnit: Double

    init(_ parameters: ZWParameters, bins: Int = 2_000) {
        let m0 = parameters.zMass + parameters.wMass
        let top = parameters.maximumMass - m0
        var edges = [0.0]
        for i in 0...bins { edges.append(0.01 * pow(top / 0.01, Double(i) / Double(bins))) }
        var weights = [Double](repeating: 0, count: edges.count - 1)
        for i in 0..<weights.count {
            let mid = m0 + 0.5 * (edges[i] + edges[i + 1])
            weights[i] = ZWProduction.spectrum(mid, threshold: m0, parameters) * (edges[i + 1] - edges[i])
        }
        var cumulative = [0.0]
        for w in weights { cumulative.append(cumulative.last! + w) }
        let total = cumulative.last!
        self.edges = edges; self.weights = weights; self.cumulative = cumulative.map { $0 / total }
        binsPerLogUnit = top > 0.01 ? Double(bins) / log(top / 0.01) : 0
    }

    /// The bin holding Delta (edges[i] <= Delta < edges[i + 1]), nil outside [0, top). The edges
    /// above the first are geometric, edges[k] = 0.01 r^((k - 1)/bins): the logarithm gives the bin
    /// up to round-off, which the neighbouring edges correct (a likelihood scan evaluates this
    /// for every draw at every theta, where a binary search over 2,000 edges dominated).
    func bin(_ delta: Double) -> Int? {
        guard delta >= 0, delta < edges[edges.count - 1] else { return nil }
        if delta < edges[1] { return 0 }
        if binsPerLogUnit > 0 {
            var k = min(max(1 + Int(log(delta / edges[1]) * binsPerLogUnit), 1), edges.count - 2)
            while k > 1, edges[k] > delta { k -= 1 }
            while k < edges.count - 2, edges[k + 1] <= delta { k += 1 }
            return k
        }
        var low = 0, high = edges.count - 1
        while high - low > 1 {
            let mid = (low + high) / 2
            if edges[mid] <= delta { low = mid } else { high = mid }
        }
        return low
    }

    /// The sampled density of Delta.
    func density(_ delta: Double) -> Double {
        guard let i = bin(delta) else { return 0 }
        return (cumulative[i + 1] - cumulative[i]) / (edges[i + 1] - edges[i])
    }

    /// The probability of an excess below Delta.
    func cdf(_ delta: Double) -> Double {
        if delta <= 0 { return 0 }
        guard let i = bin(delta) else { return 1 }
        return cumulative[i] + (cumulative[i + 1] - cumulative[i]) * (delta - edges[i]) / (edges[i + 1] - edges[i])
    }
}

/// Generator of pp -> ZW (standard model) and pp -> W' -> ZW hard events.
public final class ZWProduction {
    public let parameters: ZWParameters
    /// Tabulated partonic-mass spectrum above threshold (`ThresholdSpectrum`): bin edges in
    /// Delta = m - m0 and GSL's Walker alias table over the bins (uniform inside a bin).
    private let edges: [Double]
    private let table: UnsafeMutablePointer<gsl_ran_discrete_t>
    private let zShape: BreitWigner, wShape: BreitWigner, wPrimeShape: BreitWigner

    public init(parameters: ZWParameters = ZWParameters()) {
        self.parameters = parameters
        zShape = BreitWigner(mass: parameters.zMass, width: parameters.zWidth, window: parameters.massWindow)
        wShape = BreitWigner(mass: parameters.wMass, width: parameters.wWidth, window: parameters.massWindow)
        wPrimeShape = BreitWigner(mass: parameters.wPrimeMass, width: parameters.wPrimeWidth, window: parameters.wPrimeWindow)
        let spectrum = ThresholdSpectrum(parameters)
        edges = spectrum.edges
        table = spectrum.weights.withUnsafeBufferPointer { gsl_ran_discrete_preproc($0.count, $0.baseAddress)! }
    }

    deinit { gsl_ran_discrete_free(table) }

    /// dsigma/dm ∝ beta (m0/m)^n (1 - m/sqrt s)^b (unnormalised).
    public static func spectrum(_ m: Double, threshold m0: Double, _ p: ZWParameters) -> Double {
        guard m > m0, m < p.sqrtS else { return 0 }
        let beta = (1 - (m0 / m) * (m0 / m)).squareRoot()
        return beta * pow(m0 / m, p.luminosityPower) * pow(1 - m / p.sqrtS, p.highMassPower)
    }

    /// Excess Delta = m - m0 over threshold, from the table.
    @inline(__always) func thresholdExcess(_ rng: RNGStream) -> Double {
        let bin = Int(gsl_ran_discrete(rng.gsl, table))
        return edges[bin] + (edges[bin + 1] - edges[bin]) * rng.uniform()
    }

    /// Rapidity of the ZW system with weight [(1 - x1)(1 - x2)]^c, |y| < -log(tau)/2 (rejection).
    @inline(__always) func systemRapidity(tau: Double, _ rng: RNGStream) -> Double {
        ZWProduction.rapidity(tau: tau, power: parameters.pdfPower, rng)
    }

    /// A rapidity with weight [(1 - x1)(1 - x2)]^c on |y| < -log(tau)/2 by rejection (the parton
    /// luminosity of every Refold process: ZW, Drell-Yan, photon-Z Drell-Yan).
    @inline(__always) static func rapidity(tau: Double, power c: Double, _ rng: RNGStream) -> Double {
        let rootTau = tau.squareRoot(), yMax = -0.5 * log(tau)
        let peak = pow((1 - rootTau) * (1 - rootTau), c)
        while true {
            let y = rng.uniform(-yMax, yMax)
            let weight = ZWProduction.rapidityWeight(y, rootTau: rootTau, power: c)
            guard weight > 0 else { continue }
            if rng.uniform() * peak < weight { return y }
        }
    }

    /// [(1 - x1)(1 - x2)]^c with x1,2 = sqrt(tau) e^(+-y), zero unless both x < 1.
    @inline(__always) static func rapidityWeight(_ y: Double, rootTau: Double, power c: Double) -> Double {
        let x1 = rootTau * exp(y), x2 = rootTau * exp(-y)
        guard x1 < 1, x2 < 1 else { return 0 }
        return pow((1 - x1) * (1 - x2), c)
    }

    /// cos(theta) with density 1 + A c^2 + B c on [-1, 1] (rejection).
    @inline(__always) func productionAngle(a: Double, b: Double, _ rng: RNGStream) -> Double {
        let peak = max(1 + a + abs(b), 1 + abs(b), 1e-12)
        while true {
            let c = rng.uniform(-1, 1)
            if rng.uniform() * peak < 1 + a * c * c + b * c { return c }
        }
    }

    /// The coordinates of one hard event: standard-model ZW, or W' -> ZW if `wPrime`. The W decay
    /// angles are those of the first quark of the pair (`ZWPartonCoordinates.pTOrdered` maps them to
    /// the leading quark).
    public func draw(wPrime: Bool = false, _ rng: RNGStream) -> ZWPartonCoordinates {
        let p = parameters
        let mZ = zShape.draw(rng), mW = wShape.draw(rng)
        var m: Double
        if wPrime {
            repeat { m = wPrimeShape.draw(rng) } while m <= mZ + mW
        } else {
            m = mZ + mW + thresholdExcess(rng)
        }
        let tau = m * m / (p.sqrtS * p.sqrtS)
        let y = systemRapidity(tau: tau, rng)
        let cosTheta = wPrime ? productionAngle(a: p.wPrimeAngularA, b: 0, rng) : productionAngle(a: p.angularA, b: p.angularB, rng)
        let phi = rng.uniform(-.pi, .pi)
        // Isotropic decays in the boson rest frames.
        let zDecayCos = rng.uniform(-1, 1), zDecayPhi = rng.uniform(-.pi, .pi)
        let wDecayCos = rng.uniform(-1, 1), wDecayPhi = rng.uniform(-.pi, .pi)
        return ZWPartonCoordinates(zMass: mZ, wMass: mW, mass: m, rapidity: y, cosTheta: cosTheta, phi: phi,
                                   zDecayCos: zDecayCos, zDecayPhi: zDecayPhi, wDecayCos: wDecayCos, wDecayPhi: wDecayPhi)
    }

    /// One hard event: standard-model ZW, or W' -> ZW if `wPrime`.
    public func generate(wPrime: Bool = false, _ rng: RNGStream) -> HardEvent {
        let x = draw(wPrime: wPrime, rng)
        let flavour: LeptonFlavour = rng.uniform() < parameters.electronFraction ? .electron : .muon
        return HardEvent(x, flavour: flavour, isWPrime: wPrime)
    }
}
