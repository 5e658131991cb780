import ArgumentParser
import Foundation
import Tensor
import Unfolding

extension UnfoldingMethod: ExpressibleByArgument {}

/// `refold unfold-binned`: the classical binned unfolding baselines on CSV inputs (docs/toys.md).
struct UnfoldBinned: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unfold-binned",
        abstract: "Unfold a binned spectrum: matrix inversion, iterative Bayes (D'Agostini), SVD/Tikhonov or bin-by-bin.")

    @Option(help: "Method: \(UnfoldingMethod.allCases.map(\.rawValue).joined(separator: ", ")).")
    var method: UnfoldingMethod
    @Option(help: "Response CSV: rows = measured bins, columns = truth bins, entries P(measured i | truth j) (invert, ibu, svd).")
    var response: String?
    @Option(help: "Measured counts, one per line.") var data: String
    @Option(help: "Prior truth spectrum, one value per line (ibu: starting prior, flat if absent; svd: regularisation reference, zero if absent).")
    var prior: String?
    @Option(help: "ibu: number of iterations (1...100000).") var iterations: Int = 4
    @Option(help: "svd: regularisation strength tau.") var tau: Double = 0
    @Option(help: "ibu: Poisson toys for the covariance (0...1000000).") var toys: Int = 500
    @Option(help: "ibu: seed of the Poisson toys.") var seed: UInt64 = 2026
    @Option(help: "binbybin: simulated truth counts, one per line.") var mcTruth: String?
    @Option(help: "binbybin: simulated reco counts, one per line.") var mcReco: String?
    @Option(help: "Output CSV: value,error per truth bin.") var out: String
    @Flag(help: "Overwrite an existing --out (never one of the inputs).") var force = false

    func validate() throws {
        try checkCount("--iterations", iterations, in: 1...100_000)
        guard tau >= 0 else { throw ValidationError("--tau: expected >= 0, got \(tau)") }
        try checkCount("--toys", toys, in: 0...1_000_000)
        if method == .binByBin {
            guard mcTruth != nil, mcReco != nil else { throw ValidationError("--method binbybin needs --mc-truth and --mc-reco") }
        } else if response == nil {
            throw ValidationError("--method \(method.rawValue) needs --response")
        }
    }

    func run() throws {
        let inputs = [("--response", response), ("--data", data), ("--prior", prior), ("--mc-truth", mcTruth), ("--mc-reco", mcReco)]
            .compactMap { option, path in path.map { (option: option, url: URL(fileURLWithPath: $0)) } }
        try OutputGuard.check(URL(fileURLWithPath: out), inputs: inputs, force: force)
        let counts = try BinnedCSV.readCounts(URL(fileURLWithPath: data))
        let result: UnfoldingResult
        if method == .binByBin {
            let truth = try BinnedCSV.readCounts(URL(fileURLWithPath: mcTruth!))
            let reco = try BinnedCSV.readCounts(URL(fileURLWithPath: mcReco!))
            try truth.requireCount(counts.values.count, "the bins of \(data)")
            try reco.requireCount(counts.values.count, "the bins of \(data)")
            result = try BinByBin.unfold(data: counts.values, simulatedTruth: truth.values, simulatedReco: reco.values)
        } else {
            let matrix = try BinnedCSV.readResponse(URL(fileURLWithPath: response!))
            try counts.requireCount(matrix.measuredBins, "the measured bins (rows) of \(response!)")
            let priorCounts = try prior.map { try BinnedCSV.readCounts(URL(fileURLWithPath: $0)) }
            try priorCounts?.requireCount(matrix.truthBins, "the truth bins (columns) of \(response!)")
            switch method {
            case .invert:
                do { result = try MatrixInversion.unfold(response: matrix, data: counts.values) } catch let error as RefoldError {
                    throw RefoldError.file(response!, error.message)
                }
            case .ibu:
                result = try IterativeBayes.unfold(response: matrix, data: counts.values, prior: priorCounts?.values,
                                                   iterations: iterations, toys: toys, rng: RNGStream(seed: seed).child("unfold-binned.ibu"))
            case .svd:
                // The reference takes the prior's shape, scaled so that it folds to the data's total.
                let reference = try priorCounts.map { p -> [Double] in
                    let folded = try matrix.fold(p.values).reduce(0, +)
                    return folded > 0 ? p.values.map { $0 * counts.values.reduce(0, +) / folded } : p.values
                }
                result = try TikhonovSVD.unfold(response: matrix, data: counts.values, tau: tau, reference: reference)
            case .binByBin:
                fatalError("handled above")
            }
        }
        // [reliability] 3: no values of 1e18 from a numerically singular response, no NaN written.
        try result.requireMeaningful(regularised: method == .ibu || method == .binByBin || (method == .svd && tau > 0), source: response ?? data)
        try writeAtomically(BinnedCSV.format(result), to: URL(fileURLWithPath: out))
        if let condition = result.conditionNumber {
            FileHandle.standardError.write(Data("condition number \(condition)\n".utf8))
        }
    }
}
