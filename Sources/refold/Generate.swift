import ArgumentParser
import Foundation
import Physics
import Tensor

/// Every built-in generator. Density toys write one level (`events.npy`); collider processes
/// write paired parton/detector samples (`parton.npy`, `detector.npy`, `njets.npy`).
enum GeneratorKind: String, CaseIterable, ExpressibleByArgument {
    case wedge, kicker, ring
    case zw, zwISR = "zw-isr", wprime, drellYan = "drell-yan"
    case subtractionToy = "subtraction-toy", drellYanEW = "drell-yan-ew"
    case shower
    case zJets = "z-jets", ttbar

    var isDensityToy: Bool { self == .wedge || self == .kicker || self == .ring }
    /// The generators of GAN event subtraction: one component (B, S or B - S) per sample.
    var isSubtraction: Bool { self == .subtractionToy || self == .drellYanEW }
}

/// The parton that starts each showered jet (`refold generate shower --initial`).
enum InitialPartonChoice: String, CaseIterable, ExpressibleByArgument { case quark, gluon }

/// Which sample of an event subtraction to write.
enum SubtractionComponent: String, CaseIterable, ExpressibleByArgument {
    case b, s, bMinusS = "b-s"
}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a sample: a density toy (wedge, kicker, ring), a collider process (zw, zw-isr, wprime, drell-yan), a sample of event subtraction (subtraction-toy, drell-yan-ew with --component) or showered jets (shower), or a particle-level sample of the precision generators (z-jets, ttbar).")

    @Argument(help: "The generator: \(GeneratorKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var generator: GeneratorKind

    @Option(help: "Number of events (at most what half the memory holds at 512 bytes each; checked before generating).") var events: Int = 100_000
    @Option(help: "The seed that drives every random number.") var seed: UInt64 = 2026
    @Option(help: "Output folder.") var out: String
    @Flag(help: "Overwrite an existing --out (never one of the inputs).") var force = false

    @Option(help: "W' fraction mixed into the sample (wprime).") var wprimeFraction: Double = 0.1
    @Option(help: "Detector card (TOML) overriding the ATLAS-like defaults.") var detector: String?
    @Option(name: .customLong("set"),
            help: ArgumentHelp("A ZW process parameter (zw, zw-isr, wprime; repeatable), recorded in meta.json; NAME is one of \(ZWParameters.fields.map(\.name).joined(separator: ", ")). For shower: a shower parameter, one of \(ShowerParameters.fieldNames.joined(separator: ", ")).",
                               valueName: "NAME=VALUE"))
    var settings: [String] = []
    @Option(help: "subtraction-toy, drell-yan-ew: the component b (background), s (to subtract) or b-s (the exact difference).")
    var component: SubtractionComponent?

    @Option(help: "shower: number of jets (at most what half the memory holds at 4 kB each; checked before showering).") var jets: Int = 10_000
    @Option(help: "shower: jet energy in GeV.") var energy: Double = 500
    @Option(help: "shower: the parton starting every jet, quark or gluon (default gluon).") var initial: InitialPartonChoice?
    @Option(help: "shower: start a jet from a quark with this probability, else from a gluon.") var quarkFraction: Double?
    @Option(name: .customLong("prior"),
            help: ArgumentHelp("shower: draw this parameter uniformly per jet (repeatable); recorded in parameters.npy.", valueName: "NAME=LOW:HIGH"))
    var priors: [String] = []
    @Option(help: "shower: jets per prior draw; jets k M ..< (k + 1) M share their parameters (a set for refold train qcd; a divisor of --jets, so at most --jets).")
    var jetsPerSet: Int = 1

    func validate() throws {
        if generator == .shower {
            do { try validateShower() } catch { throw ValidationError("\(error)") }
            return
        }
        guard priors.isEmpty, initial == nil, quarkFraction == nil, jetsPerSet == 1 else {
            throw ValidationError("--prior, --initial, --quark-fraction, --jets-per-set: expected them with shower only, got \(generator.rawValue)")
        }
        guard generator.isSubtraction == (component != nil) else {
            throw ValidationError("--component: expected it with subtraction-toy and drell-yan-ew only, got \(component?.rawValue ?? "none") for \(generator.rawValue)")
        }
        guard events > 0 else { throw ValidationError("--events: expected a positive count, got \(events)") }
        // A paired ZW event holds 12 parton and up to 24 detector values in Double, plus bookkeeping.
        do { try checkMemory("--events", count: events, bytesPerItem: 512) } catch { throw ValidationError("\(error)") }
        guard (0...1).contains(wprimeFraction) else {
            throw ValidationError("--wprime-fraction: expected a value in [0, 1], got \(wprimeFraction)")
        }
        if !settings.isEmpty && ColliderProcess(rawValue: generator.rawValue)?.usesZWParameters != true {
            throw ValidationError("--set: expected a generator zw, zw-isr or wprime, got \(generator.rawValue)")
        }
        do { _ = try ZWParameters().setting(settings).validated() } catch { throw ValidationError("--set: \(error)") }
    }

    func run() throws {
        let folder = URL(fileURLWithPath: out)
        try OutputGuard.check(folder, inputs: detector.map { [("--detector", URL(fileURLWithPath: $0))] } ?? [], force: force)
        if generator == .shower {
            try generateShower(jets: jets, energy: energy, initial: initialParton, settings: settings, priors: priors, jetsPerSet: jetsPerSet, seed: seed, out: folder)
        } else if let component {
            try generateSubtraction(generator, component: component, events: events, seed: seed, out: folder)
        } else if generator == .zJets || generator == .ttbar {
            try generatePrecisionSample(generator, events: events, seed: seed, out: folder)
        } else if generator.isDensityToy {
            try generateDensityToy(generator, events: events, seed: seed, out: folder)
        } else {
            try generateCollider(generator, events: events, seed: seed, wprimeFraction: wprimeFraction, settings: settings,
                                 detectorCard: detector.map { URL(fileURLWithPath: $0) }, out: folder)
        }
    }
}
