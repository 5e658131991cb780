import Foundation
import Tensor

/// The parton species the shower tracks (quark and antiquark flavours are not distinguished).
public enum PartonKind: String, CaseIterable, Equatable {
    case quark, gluon
}

/// The splitting channels: q -> q g, g -> g g, g -> q qbar (summed over n_f flavours).
public enum SplittingChannel: String, CaseIterable, Equatable {
    case qq, gg, gq

    /// The species of the emitter after the splitting (it keeps momentum fraction z) and of the
    /// emitted parton (fraction 1 - z).
    public var daughters: (emitter: PartonKind, emitted: PartonKind) {
        switch self {
        case .qq: return (.quark, .gluon)
        case .gg: return (.gluon, .gluon)
        case .gq: return (.quark, .quark)
        }
    }

    public static func channels(of kind: PartonKind) -> [SplittingChannel] { kind == .quark ? quarkChannels : gluonChannels }
    static let quarkChannels: [SplittingChannel] = [.qq], gluonChannels: [SplittingChannel] = [.gg, .gq]

    /// The position in `allCases`.
    @inline(__always) public var index: Int {
        switch self { case .qq: return 0; case .gg: return 1; case .gq: return 2 }
    }
}

/// How alpha_s depends on the ordering variable t = kT^2.
public enum CouplingRunning: Equatable {
    /// alpha_s(t) = alpha_s.
    case fixed
    /// alpha_s(t) = alpha_s / (1 + alpha_s b0 log(t / M_Z^2)), b0 = (33 - 2 n_f) / (12 pi): the
    /// one-loop QCD running from alpha_s = alpha_s(M_Z). b0 does not follow C_A or T_R, so the
    /// colour factors of the kernels change the splittings and nothing else.
    case oneLoop
}

/// Everything the idealised shower depends on: the generalised kernels of Bieringer et al.
/// (arXiv:2012.09873), the colour factors, the coupling and the cutoff.
///
///     P_qq = C_F [ D_qq 2z(1-y)/(1-z(1-y)) + F_qq (1-z) + C_qq y z(1-z) ]
///     P_gg = 2 C_A [ D_gg ( z(1-y)/(1-z(1-y)) + (1-z)(1-y)/(1-(1-z)(1-y)) ) + F_gg z(1-z) + C_gg y z(1-z) ]
///     P_gq = T_R [ F_qq ( z^2 + (1-z)^2 ) + C_gq y z(1-z) ]
///
/// At y = 0 and D = F = 1, C = 0 they are the unregularised DGLAP kernels. QCD: C_A = 3,
/// C_F = 4/3, T_R = 1/2.
public struct ShowerParameters: Equatable {
    public var colourA = 3.0, colourF = 4.0 / 3.0, colourR = 0.5
    /// Number of light flavours in g -> q qbar and in b0 (an integer 0...6).
    public var flavours = 5.0
    public var dqq = 1.0, fqq = 1.0, cqq = 0.0
    public var dgg = 1.0, fgg = 1.0, cgg = 0.0
    public var cgq = 0.0
    /// alpha_s: the constant (fixed) or alpha_s(M_Z) (one loop).
    public var alphaS = 0.118
    public var running = CouplingRunning.oneLoop
    /// The cutoff t_0 = kT^2 (GeV^2) below which the shower stops.
    public var cutoff = 1.0

    public init() {}

    /// The reference scale of the one-loop running (GeV).
    public static let zMass = 91.1876

    /// One named number of the parameters (meta.json, `--set NAME=VALUE`, `--prior NAME=LOW:HIGH`).
    public struct Field {
        public let name: String
        public let get: (ShowerParameters) -> Double
        public let set: (inout ShowerParameters, Double) -> Void
        /// Whether a prior may draw it uniformly (n_f and running are discrete).
        public let continuous: Bool
    }

    /// Every parameter, in the column order of `parameters.npy`.
    public static let fields: [Field] = {
        func field(_ name: String, _ path: WritableKeyPath<ShowerParameters, Double>) -> Field {
            Field(name: name, get: { $0[keyPath: path] }, set: { $0[keyPath: path] = $1 }, continuous: true)
        }
        return [
            field("C_A", \.colourA), field("C_F", \.colourF), field("T_R", \.colourR),
            Field(name: "n_f", get: { $0.flavours }, set: { $0.flavours = $1 }, continuous: false),
            field("D_qq", \.dqq), field("F_qq", \.fqq), field("C_qq", \.cqq),
            field("D_gg", \.dgg), field("F_gg", \.fgg), field("C_gg", \.cgg), field("C_gq", \.cgq),
            field("alpha_s", \.alphaS),
            Field(name: "running", get: { $0.running == .oneLoop ? 1 : 0 },
                  set: { $0.running = $1 == 0 ? .fixed : .oneLoop }, continuous: false),
            field("t_0", \.cutoff),
        ]
    }()

    public static var fieldNames: [String] { fields.map(\.name) }

    public static func field(named name: String) throws -> Field {
        guard let field = fields.first(where: { $0.name == name }) else {
            throw RefoldError.value("shower parameter name", expected: "one of \(fieldNames.joined(separator: ", "))", actual: name)
        }
        return field
    }

    /// The values in the order of `fields` (one row of `parameters.npy`).
    public var values: [Double] { Self.fields.map { $0.get(self) } }

    /// The numbers recorded in meta.json.
    public var record: [String: Double] {
        Dictionary(uniqueKeysWithValues: Self.fields.map { ($0.name, $0.get(self)) })
    }

    /// These parameters with `name` set to `value` (parsed as a finite number; `running` takes 0
    /// or 1, n_f an integer, checked by `validated()`).
    public func setting(_ name: String, to value: String) throws -> ShowerParameters {
        let field = try Self.field(named: name)
        guard let number = Double(value.trimmingCharacters(in: .whitespaces)), number.isFinite else {
            throw RefoldError.value("shower parameter \(name)", expected: "a finite number", actual: "'\(value)'")
        }
        if name == "running" && number != 0 && number != 1 {
            throw RefoldError.value("shower parameter running", expected: "0 (fixed alpha_s) or 1 (one loop)", actual: number)
        }
        var parameters = self
        field.set(&parameters, number)
        return parameters
    }

    /// These parameters with every `NAME=VALUE` assignment applied in order.
    public func setting(_ assignments: [String]) throws -> ShowerParameters {
        try assignments.reduce(self) { parameters, assignment in
            let (name, value) = try Self.split(assignment, separator: "=", what: "shower parameter assignment", form: "NAME=VALUE")
            return try parameters.setting(name, to: value)
        }
    }

    /// `NAME<sep>REST` split at the first separator, both sides trimmed.
    static func split(_ text: String, separator: Character, what: String, form: String) throws -> (String, String) {
        guard let index = text.firstIndex(of: separator) else { throw RefoldError.value(what, expected: form, actual: "'\(text)'") }
        return (String(text[..<index]).trimmingCharacters(in: .whitespaces), String(text[text.index(after: index)...]).trimmingCharacters(in: .whitespaces))
    }

    /// Throws unless every kernel is non-negative on 0 < z < 1, 0 <= y <= 1 (the veto algorithm
    /// needs a probability): D >= 0, F >= 0, F + min(C, 0) >= 0 for qq and gg, 2 F_qq + C_gq >= 0
    /// for gq (the minima sit at y = 1); positive colour factors; n_f an integer in 0...6;
    /// 0 < alpha_s < 1; a cutoff t_0 > 0 with a finite positive one-loop alpha_s(t_0).
    public func validated() throws -> ShowerParameters {
        for (name, value) in [("C_A", colourA), ("C_F", colourF), ("alpha_s", alphaS), ("t_0", cutoff)] where !(value > 0) {
            throw RefoldError.value(name, expected: "a positive number", actual: value)
        }
        guard colourR >= 0 else { throw RefoldError.value("T_R", expected: "a number >= 0", actual: colourR) }
        guard (0...6).contains(flavours), flavours == flavours.rounded() else {
            throw RefoldError.value("n_f", expected: "an integer in 0...6", actual: flavours)
        }
        guard alphaS < 1 else { throw RefoldError.value("alpha_s", expected: "a value below 1", actual: alphaS) }
        for (name, value) in [("D_qq", dqq), ("F_qq", fqq), ("D_gg", dgg), ("F_gg", fgg)] where !(value >= 0) {
            throw RefoldError.value(name, expected: "a number >= 0 (a non-negative kernel)", actual: value)
        }
        guard fqq + min(cqq, 0) >= 0 else { throw RefoldError.value("F_qq + C_qq", expected: ">= 0 (P_qq >= 0 at y = 1)", actual: fqq + cqq) }
        guard fgg + min(cgg, 0) >= 0 else { throw RefoldError.value("F_gg + C_gg", expected: ">= 0 (P_gg >= 0 at y = 1)", actual: fgg + cgg) }
        guard 2 * fqq + cgq >= 0 else { throw RefoldError.value("2 F_qq + C_gq", expected: ">= 0 (P_gq >= 0 at y = 1, z = 1/2)", actual: 2 * fqq + cgq) }
        if running == .oneLoop {
            let denominator = 1 + alphaS * betaZero * log(cutoff / (Self.zMass * Self.zMass))
            guard denominator > 0 else {
                throw RefoldError.value("t_0", expected: "above the one-loop Landau pole \(Self.zMass * Self.zMass * exp(-1 / (alphaS * betaZero))) GeV^2", actual: cutoff)
            }
        }
        return self
    }

    // MARK: Coupling

    /// b0 = (33 - 2 n_f) / (12 pi).
    public var betaZero: Double { (33 - 2 * flavours) / (12 * Double.pi) }

    /// alpha_s(t), t = kT^2 in GeV^2.
    @inline(__always) public func coupling(_ t: Double) -> Double {
        switch running {
        case .fixed: return alphaS
        case .oneLoop: return alphaS / (1 + alphaS * betaZero * log(t / (Self.zMass * Self.zMass)))
        }
    }

    /// G(t) = integral^t alpha_s(t') dt' / t': alpha_s log t (fixed), log(1 + alpha_s b0 log(t/M_Z^2)) / b0
    /// (one loop). The veto algorithm draws t by inverting G.
    @inline(__always) public func couplingPrimitive(_ t: Double) -> Double {
        switch running {
        case .fixed: return alphaS * log(t)
        case .oneLoop: return log(1 + alphaS * betaZero * log(t / (Self.zMass * Self.zMass))) / betaZero
        }
    }

    /// The inverse of `couplingPrimitive`.
    @inline(__always) public func inverseCouplingPrimitive(_ g: Double) -> Double {
        switch running {
        case .fixed: return exp(g / alphaS)
        case .oneLoop: return Self.zMass * Self.zMass * exp((exp(betaZero * g) - 1) / (alphaS * betaZero))
        }
    }

    // MARK: Kernels

    /// The emission kernel K(z, y) of a channel, with its symmetry factor: P_qq, P_gg / 2 (two
    /// identical gluons), n_f P_gq.
    @inline(__always) public func kernel(_ channel: SplittingChannel, z: Double, y: Double) -> Double {
        let s = 1 - y, zBar = 1 - z
        switch channel {
        case .qq:
            return colourF * (dqq * 2 * z * s / (1 - z * s) + fqq * zBar + cqq * y * z * zBar)
        case .gg:
            return colourA * (dgg * (z * s / (1 - z * s) + zBar * s / (1 - zBar * s)) + fgg * z * zBar + cgg * y * z * zBar)
        case .gq:
            return flavours * colourR * (fqq * (z * z + zBar * zBar) + cgq * y * z * zBar)
        }
    }

    /// The overestimate gHat(z) >= (1 - y) K(z, y) for all 0 <= y <= 1, as a mixture of shapes
    /// with closed-form integrals and inverses on [eps, 1 - eps]:
    ///     qq: C_F [ 2 D_qq / (1-z) + F_qq + C_qq+ / 16 ]
    ///     gg: C_A [ D_gg (1/(1-z) + 1/z) + F_gg / 4 + C_gg+ / 16 ]
    ///     gq: n_f T_R [ F_qq + C_gq+ / 16 ]
    /// (s = 1 - y: s z s/(1 - z s) <= z/(1 - z); y (1 - y) <= 1/4; z (1 - z) <= 1/4; C+ = max(C, 0)).
    public func overestimate(_ channel: SplittingChannel) -> Overestimate {
        switch channel {
        case .qq: return Overestimate(soft: colourF * 2 * dqq, hard: 0, flat: colourF * (fqq + max(cqq, 0) / 16))
        case .gg: return Overestimate(soft: colourA * dgg, hard: colourA * dgg, flat: colourA * (fgg / 4 + max(cgg, 0) / 16))
        case .gq: return Overestimate(soft: 0, hard: 0, flat: flavours * colourR * (fqq + max(cgq, 0) / 16))
        }
    }
}

/// gHat(z) = soft / (1 - z) + hard / z + flat on [eps, 1 - eps].
public struct Overestimate: Equatable {
    public var soft: Double, hard: Double, flat: Double

    @inline(__always) public func value(_ z: Double) -> Double { soft / (1 - z) + hard / z + flat }

    /// The integral over [eps, 1 - eps].
    @inline(__always) public func integral(epsilon eps: Double) -> Double {
        (soft + hard) * log((1 - eps) / eps) + flat * (1 - 2 * eps)
    }

    /// A z drawn from gHat on [eps, 1 - eps] by choosing a shape with the probability of its
    /// integral and inverting its cumulative.
    @inline(__always) public func draw(epsilon eps: Double, _ rng: RNGStream) -> Double {
        let logRange = log((1 - eps) / eps)
        let pick = rng.uniform() * integral(epsilon: eps), u = rng.uniform()
        if pick < soft * logRange { return 1 - eps * exp(u * logRange) }
        if pick < (soft + hard) * logRange { return eps * exp(u * logRange) }
        return eps + (1 - 2 * eps) * u
    }
}
