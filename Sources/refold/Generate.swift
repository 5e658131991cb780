import ArgumentParser
import Foundation
import Physics

/// Every built-in generator. Density toys write one level (`events.npy`); collider processes
/// write paired parton/detector samples (`parton.npy`, `detector.npy`, `njets.npy`).
enum GeneratorKind: String, CaseIterable, ExpressibleByArgument {
    case wedge, kicker, ring
    case zw, zwISR = "zw-isr", wprime, drellYan = "drell-yan"

    var isDensityToy: Bool { self == .wedge || self == .kicker || self == .ring }
}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a sample: a density toy (wedge, kicker, ring) or a collider process (zw, zw-isr, wprime, drell-yan).")

    @Argument(help: "The generator: \(GeneratorKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var generator: GeneratorKind

    @Option(help: "Number of events.") var events: Int = 100_000
    @Option(help: "The seed that drives every random number.") var seed: UInt64 = 2026
    @Option(help: "Output folder.") var out: String

    @Option(help: "W' fraction mixed into the sample (wprime).") var wprimeFraction: Double = 0.1
    @Option(help: "Detector card (TOML) overriding the ATLAS-like defaults.") var detector: String?
    @Option(name: .customLong("set"),
            help: ArgumentHelp("A ZW process parameter (zw, zw-isr, wprime; repeatable), recorded in meta.json; NAME is one of \(ZWParameters.fields.map(\.name).joined(separator: ", ")).",
                               valueName: "NAME=VALUE"))
    var settings: [String] = []

    func validate() throws {
        guard events > 0 else { throw ValidationError("--events: expected a positive count, got \(events)") }
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
        if generator.isDensityToy {
            try generateDensityToy(generator, events: events, seed: seed, out: folder)
        } else {
            try generateCollider(generator, events: events, seed: seed, wprimeFraction: wprimeFraction, settings: settings,
                                 detectorCard: detector.map { URL(fileURLWithPath: $0) }, out: folder)
        }
    }
}
