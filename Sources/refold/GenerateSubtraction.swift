import Foundation
import Physics
import Tensor
import ToyModels

/// Writes one component of an event-subtraction sample (single level, `events.npy` and
/// `meta.json` with the component's cross section under parameters.cross_section), streams from
/// RNGStream(seed).child("generate.<kind>.<component>").
func generateSubtraction(_ kind: GeneratorKind, component: SubtractionComponent, events: Int, seed: UInt64, out: URL) throws {
    let rng = RNGStream(seed: seed).child("generate.\(kind.rawValue).\(component.rawValue)")
    var sample: EventSample
    switch kind {
    case .subtractionToy:
        let toy = try SubtractionToy()
        let which = SubtractionToy.Component(rawValue: component.rawValue)!
        sample = EventSample(generator: "\(kind.rawValue)-\(component.rawValue)", seed: seed,
                             events: .init(columns: ["x"], rows: events, values: toy.sample(which, events: events, rng: rng)),
                             parameters: toy.record(which))
    case .drellYanEW:
        let generator = try ElectroweakDrellYan(component: ElectroweakDrellYan.Component(rawValue: component.rawValue)!)
        sample = generator.sample(events: events, rng: rng)
    default:
        throw RefoldError.value("subtraction generator", expected: "subtraction-toy or drell-yan-ew", actual: kind.rawValue)
    }
    sample.seed = seed
    try sample.write(to: out)
    print(String(format: "wrote %d %@ events to %@ (cross section %.6g)", events, sample.generator, out.path, sample.parameters["cross_section"] ?? .nan))
}
