import Foundation
import Physics
import Tensor

/// Writes a collider sample: `events` accepted events, streams from
/// RNGStream(seed).child("generate.<kind>").
func generateCollider(_ kind: GeneratorKind, events: Int, seed: UInt64, wprimeFraction: Double,
                      detectorCard: URL?, out: URL) throws {
    guard let process = ColliderProcess(rawValue: kind.rawValue) else {
        throw RefoldError.value("collider generator", expected: ColliderProcess.allCases.map(\.rawValue).joined(separator: ", "), actual: kind.rawValue)
    }
    var configuration = ColliderConfiguration(process: process)
    configuration.wPrimeFraction = wprimeFraction
    if let detectorCard { configuration.card = try DetectorCard.load(from: detectorCard) }
    let rng = RNGStream(seed: seed).child("generate.\(kind.rawValue)")
    var sample = try generateColliderSample(configuration, events: events, rng: rng)
    sample.seed = seed
    try sample.write(to: out)
    print("wrote \(sample.count) \(kind.rawValue) events to \(out.path) (selection efficiency \(String(format: "%.4f", sample.selectionEfficiency)))")
}
