import Flows
import Foundation
import Tensor
import Unfolders
import ToyModels
import Validation

/// BINN uncertainty against the training statistics (thesis sec. 6.3.4, fig. 6.7): the kicker ramp
/// trained on samples of growing size with the same number of weight updates; sigma_pred at
/// x = 0.5 (mean over lines y = 0.2 ... 0.8) must fall monotonically.
///
/// `[generator.parameters]`: `sizes` (paper: 10k, 100k, 1M) and `updates` (weight updates per
/// training); the quick profile sets its own in `[profile.quick.generator.parameters]`.
public enum ErrorsVsStatisticsStudy {
    static func numbers(_ g: GeneratorSpec, _ name: String, default fallback: [Double]) throws -> [Double] {
        guard let value = g.parameters[name] else { return fallback }
        switch value {
        case .numbers(let list): return list
        default:
            if let n = value.number { return [n] }
            throw RefoldError.value("generator.parameters.\(name)", expected: "a list of numbers", actual: value)
        }
    }

    public static func run(_ spec: StudySpec, _ context: StudyContext) throws -> StudyResult {
        let g = context.generator
        let sizes = try numbers(g, "sizes", default: [10_000, 100_000, 1_000_000]).map { Int($0) }
        let updates = Int(try g.number("updates", default: 175_000))
        guard sizes.count >= 2, sizes.allSatisfy({ $0 >= 100 }), updates >= 1 else {
            throw RefoldError.value("errors-vs-statistics sizes, updates", expected: ">= 2 sizes of >= 100 events, updates >= 1", actual: "\(sizes), \(updates)")
        }
        let toy = KickerRamp()
        var s = try BINNStudy.Settings(context)
        var result = StudyResult()
        result.notes.append("sizes \(sizes), \(updates) weight updates each (batch \(s.training.batchSize)); \(s.binn.blocks) blocks x \(s.binn.hiddenLayers) hidden layers x \(s.binn.units) units, lr \(s.training.learningRate), prior \(s.binn.priorWidth), M = \(s.draws) weight draws")
        let xs = (0..<18).map { 0.05 + 0.9 * (Double($0) + 0.5) / 18 }
        let ys = [0.2, 0.35, 0.5, 0.65, 0.8]
        var atHalf = [Double](), series = [Plot.FitSeries]()
        // sigma_pred(0.5) per size for independent sets of M draws: the ordering's noise.
        var atHalfRepeats = [[Double]](repeating: [], count: BINNStudy.noiseRepeats)
        for (k, size) in sizes.enumerated() {
            s.events = size
            let batches = (size + s.training.batchSize - 1) / s.training.batchSize
            s.training.epochs = max(1, (updates + batches - 1) / batches)
            context.report("training on \(size) events, \(s.training.epochs) epochs")
            let events = BINNStudy.toyEvents(toy, count: size, rng: context.rng.child("generator").child(index: k))
            let model = try BINNStudy.train(events, columns: ["x", "y"], settings: s, seed: context.seed(for: "binn-\(k)"), context: context)
            let lines = try BINNStudy.rampLines(model, xs: xs + [0.5], ys: ys, draws: s.draws, rng: context.rng.child("draws"))
            let sigma = lines.sigma.last!, density = lines.density.last!
            atHalf.append(sigma)
            for r in atHalfRepeats.indices {
                atHalfRepeats[r].append(try BINNStudy.rampLines(model, xs: [0.5], ys: ys, draws: s.draws,
                                                                rng: context.rng.child("noise").child(index: r)).sigma[0])
            }
            result.record("sigma-pred(0.5), N = \(size)", sigma, noise: .nan)
            result.notes.append("N = \(size): \(s.training.epochs) epochs (\(s.training.epochs * batches) updates), p(0.5) = \(format(density)) (true 0.75), sigma_pred(0.5) = \(format(sigma))")
            series.append(Plot.FitSeries(label: "N = \(size)", fitLabel: "p_{BINN}, N = \(size)", x: Array(xs), y: Array(lines.sigma.dropLast()),
                                         sigma: Array(lines.sigmaError.dropLast()), curveX: [], curveY: []))
        }
        func falls(_ values: [Double]) -> Double { zip(values, values.dropFirst()).allSatisfy { $0 > $1 } ? 1 : 0 }
        result.measure("sigma-falls-monotonically", Measured(falls(atHalf), spreadOf: atHalfRepeats.map(falls)))
        func ratio(_ values: [Double]) -> Double { values.first! / values.last! }
        result.measure("sigma-ratio", Measured(ratio(atHalf), spreadOf: atHalfRepeats.map(ratio)))
        result.notes.append("sigma_pred(0.5) smallest / largest sample: \(format(atHalf.first! / atHalf.last!))")
        try BINNStudy.writeCSV([("events", sizes.map(Double.init)), ("sigma_pred_at_0.5", atHalf)], to: try context.file("sigma-vs-statistics.csv"))
        result.dataFiles.append("sigma-vs-statistics.csv")
        result.add(try Plot.fit(title: "kicker: {/Symbol s}_{pred}(x) against training statistics", xLabel: "x",
                                          yLabel: "{/Symbol s}_{pred}", series: series.map { var t = $0; t.curveX = [t.x[0]]; t.curveY = [t.y[0]]; return t }), name: "sigma-vs-statistics")
        return result
    }
}
