import Foundation
import Physics
import Tensor

/// Writes a collider sample: `events` accepted events, streams from
/// RNGStream(seed).child("generate.<kind>"). `settings` are `NAME=VALUE` assignments of ZW
/// process parameters (recorded in meta.json with the rest of `ZWParameters.record`).
func generateCollider(_ kind: GeneratorKind, events: Int, seed: UInt64, wprimeFraction: Double, settings: [String] = [],
                      detectorCard: URL?, out: URL) throws {
    guard let process = ColliderProcess(rawValue: kind.rawValue) else {
        throw RefoldError.value("collider generator", expected: ColliderProcess.allCases.map(\.rawValue).joined(separator: ", "), actual: kind.rawValue)
    }
    var configuration = ColliderConfiguration(process: process)
    configuration.wPrimeFraction = wprimeFraction
    configuration.zw = try configuration.zw.setting(settings).validated()
    if let detectorCard { configuration.card = try DetectorCard.load(from: detectorCard) }
    let rng = RNGStream(seed: seed).child("generate.\(kind.rawValue)")
    let start = DispatchTime.now().uptimeNanoseconds
    var sample = try generateColliderSample(configuration, events: events, rng: rng)
    let generated = DispatchTime.now().uptimeNanoseconds
    sample.seed = seed
    try sample.write(to: out)
    let written = DispatchTime.now().uptimeNanoseconds
    print(String(format: "wrote %d %@ events to %@ (selection efficiency %.4f; generated in %.2f s, written in %.2f s)",
                 sample.count, kind.rawValue, out.path, sample.selectionEfficiency,
                 Double(generated - start) / 1e9, Double(written - generated) / 1e9))
}

/// Writes a particle-level sample of the precision generators (single level: `events.npy`,
/// `meta.json`; z-jets also `njets.npy`), streams from RNGStream(seed).child("generate.<kind>").
func generatePrecisionSample(_ kind: GeneratorKind, events: Int, seed: UInt64, out: URL) throws {
    let rng = RNGStream(seed: seed).child("generate.\(kind.rawValue)")
    let start = DispatchTime.now().uptimeNanoseconds
    var sample: EventSample
    switch kind {
    case .zJets: sample = try ZJetsProduction().sample(events: events, rng: rng)
    case .ttbar: sample = try TTbarProduction().sample(events: events, rng: rng)
    default: throw RefoldError.value("precision-generator sample", expected: "z-jets or ttbar", actual: kind.rawValue)
    }
    sample.seed = seed
    try sample.write(to: out)
    let multiplicity = sample.njets.map { n in
        "; jets 1/2/3: " + (1...3).map { k in String(format: "%.3f", Double(n.filter { $0 == k }.count) / Double(n.count)) }.joined(separator: "/")
    } ?? ""
    print(String(format: "wrote %d %@ events to %@ (selection efficiency %.4f%@; %.2f s)", sample.count, kind.rawValue, out.path,
                 sample.selectionEfficiency, multiplicity, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
}
