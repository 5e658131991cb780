import Foundation
import Tensor

/// Writes a density-toy sample (filled by the [toys] issue).
func generateDensityToy(_ kind: GeneratorKind, events: Int, seed: UInt64, out: URL) throws {
    throw RefoldError("generate \(kind.rawValue): the density toys are not built yet ([toys] issue)")
}
