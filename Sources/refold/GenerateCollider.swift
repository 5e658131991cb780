import Foundation
import Tensor

/// Writes a collider sample (filled by the [collider] issue).
func generateCollider(_ kind: GeneratorKind, events: Int, seed: UInt64, wprimeFraction: Double,
                      detectorCard: URL?, out: URL) throws {
    throw RefoldError("generate \(kind.rawValue): the collider generators are not built yet ([collider] issue)")
}
