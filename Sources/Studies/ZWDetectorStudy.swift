import Flows
import Foundation
import Physics
import Tensor
import Unfolders
import Validation

/// pp -> ZW -> (l l)(j j) through the ATLAS-like detector, unfolded by the cINN (thesis sec.
/// 5.3.3), with the naive INN and the eINN beside it (sec. 5.3.1-5.3.2, notes and plots only).
///
/// Gates: `<spectrum>-max-deviation` = max |unfolded / truth - 1| over bins holding >= 1 % of the
/// test events (pT_q1, pT_q2, m_jj, Delta phi_jj), `calibration*` = the largest calibration-curve
/// deviation over the 12 parton coordinates on `calibration_events` events. Each deviation is
/// reported with its statistical floor for a perfect posterior of the same size.
public enum ZWDetectorStudy {
    public static func run(_ spec: StudySpec, _ context: StudyContext) throws -> StudyResult {
        let net = context.network
        let k = net.samplesPerEvent ?? 60
        let (training, test) = try ZWStudySupport.trainingAndTest(.zw, context)
        let truth = test.parton!, detector = test.detector!
        var result = StudyResult()

        // Spectra: every test event with `spectrum_samples_per_event` samples (default K); the
        // calibration: the first `calibration_events` events with K samples.
        let kSpectra = Int(net.parameters["spectrum_samples_per_event"]?.number ?? Double(k))
        let gateEvents = min(net.calibrationEvents ?? 10_000, test.count)
        let (cinn, unfolded) = try ZWStudySupport.trainAndUnfold(.cinn, name: "cinn", label: "cINN", training: training, test: test,
                                                                 samples: kSpectra, unfoldStream: "cinn-unfold", context: context)
        ZWStudySupport.recordSupport(cinn, unfolded, into: &result)
        let posterior: UnfoldedSamples
        if kSpectra == k {
            posterior = unfolded.prefix(gateEvents)
        } else {
            context.report("cINN: unfolding \(gateEvents) events x \(k) samples for the calibration")
            posterior = try cinn.unfold(detector: detector.rows(0..<gateEvents), njets: nil, samples: k,
                                        rng: context.rng.child("cinn-calibration"))
            ZWStudySupport.recordSupport(cinn, posterior, prefix: "calibration sample: ", into: &result)
        }
        try posterior.prefix(min(1500, posterior.events)).writeNPY(to: try context.file("cinn-samples-1500.npy"))
        result.dataFiles.append("cinn-samples-1500.npy")

        for spectrum in ZWStudySupport.zwSpectra {
            let c = try ZWStudySupport.compare(spectrum, truth: truth, unfolded: unfolded, rng: context.rng.child("floor-\(spectrum.name)"))
            result.measure("\(spectrum.name)-max-deviation", c.maxDeviation, noise: c.noise)
            result.notes.append("cINN \(spectrum.name): max |unfolded/truth - 1| = \(format(c.maxDeviation)) over \(c.bins) bins with >= 1 % of \(test.count) events; statistical floor (95 %, perfect posterior, K = \(kSpectra)) \(format(c.floor))")
            result.figures.append(try ZWStudySupport.plot(c, title: "ZW, cINN: \(spectrum.name)",
                                                        detector: try ZWStudySupport.detectorHistogram(spectrum, detector: detector),
                                                        label: "cINN unfolded", name: "cinn-\(spectrum.name)"))
        }

        // Coordinates the training pairs show the detector measures exactly (Refold's lepton
        // directions) are copied, not sampled: their posterior is a delta, no calibration curve.
        let modelled = cinn.config.modelledColumns
        if let decision = cinn.config.copyDecision {
            result.record("cinn copied coordinates", Double(decision.copied.count))
            result.notes.append("copy rule (max |x_p - x_d| / max(1, |x_d|) over the training pairs <= \(decision.tolerance)): "
                                + decision.checks.map { "\($0.column) \(format($0.maxDeviation)) \($0.copied ? "copied" : "sampled")" }.joined(separator: ", "))
        }
        try ZWStudySupport.measureCalibration("cINN", truth: truth, unfolded: posterior, events: gateEvents, columns: modelled,
                                              gates: ["calibration-quick", "calibration"], context: context, into: &result)
        let plotCurves = try ZWStudySupport.calibration(truth: truth, unfolded: posterior, events: min(1500, gateEvents), columns: modelled)
        result.figures += try ZWStudySupport.calibrationPlots(plotCurves, columns: modelled, title: "cINN calibration, 1500 events x \(k)",
                                                            prefix: "cinn-calibration")

        try compareVariants(spec, context, training: training, test: test, into: &result)
        return result
    }

    /// The naive INN and the eINN, quick presets trained on `compare_training_events` events for
    /// `compare_epochs` epochs, unfolding `compare_events` test events ([network.parameters]), unfolded distributions and calibration reported as notes and plots.
    static func compareVariants(_ spec: StudySpec, _ context: StudyContext, training: EventSample, test: EventSample,
                                into result: inout StudyResult) throws {
        let parameters = context.network.parameters
        // The INNs to compare with; the GANs listed here belong to zw-cuts and are skipped.
        let variants = try parameters.enumerations("compare", NetworkVariant.self) ?? []
        let specEpochs = try UnfoldingNetwork.preset(spec.network.variant, profile: context.profile, study: context.network).training.epochs
        let epochs = Int(parameters["compare_epochs"]?.number ?? Double(max(1, specEpochs / 2)))
        let events = min(Int(parameters["compare_events"]?.number ?? 2000), test.count)
        let trainingEvents = Int(parameters["compare_training_events"]?.number ?? 5000)
        let k = context.network.samplesPerEvent ?? 60
        let testDetector = test.detector!.rows(0..<events), testTruth = test.parton!.rows(0..<events)
        for variant in variants {
            guard variant == .inn || variant == .einn else {
                guard variant.isUnfoldingGAN else { throw parameters.error("compare", "expected inn, einn (or gan, fcgan, skipped here), got \(variant.rawValue)") }
                continue
            }
            let name = variant.rawValue
            var network = try UnfoldingNetwork.preset(variant, profile: context.profile)
            network.training.epochs = context.profile == .quick ? epochs : specEpochs
            if context.profile == .quick, variant == .einn {
                // The per-feature MMDs (40 of them, batch^2 kernels each) dominate: one width, batch 128.
                network.inn?.featureMMD.widths = [0.5]
                network.training.batchSize = 128
            }
            let label = variant == .inn ? "INN" : "eINN"
            var subset = training
            subset.parton = training.parton!.rows(0..<min(trainingEvents, training.count))
            subset.detector = training.detector!.rows(0..<min(trainingEvents, training.count))
            let model = try ZWStudySupport.train(UnfoldingTrainingRequest(network: network, seed: context.seed(for: name)), sample: subset,
                                                 folder: try context.file("model-\(name)"), context: context, label: label)
            let unfolded = try model.unfold(detector: testDetector, njets: nil, samples: k, rng: context.rng.child("\(name)-unfold"))
            var deviations: [String] = []
            for spectrum in ZWStudySupport.zwSpectra {
                let c = try ZWStudySupport.compare(spectrum, truth: testTruth, unfolded: unfolded, rng: context.rng.child("\(name)-floor-\(spectrum.name)"))
                deviations.append("\(spectrum.name) \(format(c.maxDeviation)) (floor \(format(c.floor)))")
                result.record("\(name) \(spectrum.name) max deviation", c.maxDeviation, noise: c.noise)
                result.figures.append(try ZWStudySupport.plot(c, title: "ZW, \(label): \(spectrum.name)", label: "\(label) unfolded",
                                                            name: "\(name)-\(spectrum.name)"))
            }
            let curves = try ZWStudySupport.calibration(truth: testTruth, unfolded: unfolded, events: events)
            result.record("\(name) epochs", Double(network.training.epochs))
            result.notes.append("\(label) (\(network.training.epochs) epochs, \(model.flow.parameterCount) weights): max |unfolded/truth - 1| "
                                + deviations.joined(separator: ", ") + "; calibration max deviation on \(events) events: "
                                + zip(testTruth.columns, curves).map { "\($0) \(format($1.maxDeviation))" }.joined(separator: ", ")
                                + (variant == .inn ? " (the naive INN is deterministic: its K samples coincide, so it cannot be calibrated)" : ""))
            result.figures += try ZWStudySupport.calibrationPlots(Array(curves), columns: testTruth.columns, title: "\(label) calibration",
                                                                prefix: "\(name)-calibration")
        }
    }
}
