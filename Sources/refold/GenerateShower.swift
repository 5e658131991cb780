import Foundation
import Physics
import Tensor

extension Generate {
    /// The starting parton of `refold generate shower`: --initial or --quark-fraction (gluon by default).
    var initialParton: InitialParton {
        if let quarkFraction { return .mixed(quarkFraction: quarkFraction) }
        return initial == .quark ? .quark : .gluon
    }

    /// Checks the shower options before anything runs: counts, energy, one of --initial and
    /// --quark-fraction, every --set and --prior name and value, and the prior box's corners.
    func validateShower() throws {
        guard component == nil else { throw RefoldError.value("--component", expected: "none for shower", actual: component!.rawValue) }
        guard jets > 0 else { throw RefoldError.value("--jets", expected: "a positive count", actual: jets) }
        guard jetsPerSet >= 1, jets % jetsPerSet == 0 else {
            throw RefoldError.value("--jets-per-set", expected: "a positive divisor of --jets \(jets)", actual: jetsPerSet)
        }
        // A jet holds about 30 constituents of 4 Doubles, in memory twice (jets and the padded array).
        try checkMemory("--jets", count: jets, bytesPerItem: 4096)
        guard energy.isFinite, energy > 0 else { throw RefoldError.value("--energy", expected: "a positive number of GeV", actual: energy) }
        guard initial == nil || quarkFraction == nil else {
            throw RefoldError.value("--initial, --quark-fraction", expected: "at most one of them", actual: "both")
        }
        if let quarkFraction, !(0...1).contains(quarkFraction) {
            throw RefoldError.value("--quark-fraction", expected: "a value in [0, 1]", actual: quarkFraction)
        }
        let fixed = try ShowerParameters().setting(settings).validated()
        try ShowerPrior(priors).validate(around: fixed)
    }
}

/// Writes `jets` showered jets (see `ShowerSample` for the files), streams from
/// RNGStream(seed).child("generate.shower"); meta.json records the command line. With
/// `jetsPerSet` M > 1 the prior is drawn once per M consecutive jets.
func generateShower(jets: Int, energy: Double, initial: InitialParton, settings: [String], priors: [String], jetsPerSet: Int = 1,
                    seed: UInt64, out: URL) throws {
    let fixed = try ShowerParameters().setting(settings)
    let prior = try ShowerPrior(priors)
    let start = DispatchTime.now().uptimeNanoseconds
    let sample = try ShowerSample(jets: jets, energy: energy, initial: initial, fixed: fixed, prior: prior, jetsPerSet: jetsPerSet, seed: seed)
    let generated = DispatchTime.now().uptimeNanoseconds
    try sample.write(to: out, command: CommandLine.arguments)
    let seconds = Double(generated - start) / 1e9
    print(String(format: "wrote %d showered jets at %.6g GeV to %@ (at most %d constituents; %.0f jets/s)",
                 sample.count, energy, out.path, sample.maximumConstituents, Double(sample.count) / max(seconds, 1e-9)))
}
