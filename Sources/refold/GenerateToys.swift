import Foundation
import Tensor
import ToyModels

/// Writes a density-toy sample: `out/events.npy` (N x 2, float64, columns x, y) and `out/meta.json`.
/// The toy draws from RNGStream(seed:).child("generate.<toy>").
func generateDensityToy(_ kind: GeneratorKind, events: Int, seed: UInt64, out: URL) throws {
    guard let toyKind = DensityToyKind(rawValue: kind.rawValue) else {
        throw RefoldError.value("density toy", expected: DensityToyKind.allCases.map(\.rawValue).joined(separator: ", "), actual: kind.rawValue)
    }
    let toy = toyKind.standardToy()
    let rng = RNGStream(seed: seed).child("generate.\(toy.name)")
    let sample = NPYArray(shape: [events, 2], values: toy.sample(n: events, rng: rng), dtype: .float64)
    try sample.write(to: out.appendingPathComponent("events.npy"))
    let meta: [String: Any] = [
        "generator": toy.name, "level": "single", "seed": seed, "events": events,
        "parameters": toy.parameters, "columns": ["x", "y"], "files": ["events": "events.npy"],
    ]
    let json = try JSONSerialization.data(withJSONObject: meta, options: [.prettyPrinted, .sortedKeys])
    try writeAtomically(json + Data("\n".utf8), to: out.appendingPathComponent("meta.json"))
}
