import Foundation
import Parallel
import Physics
import Tensor

/// A matrix-element-method measurement of one parameter over a set of selected detector events:
///
///     -2 log L(theta) = -2 sum_i log p(x_i | theta) + 2 n log P_sel(theta)
///
/// (the likelihood of a selected event is p(x_d | theta) / P_sel(theta); the efficiencies eps(x_i)
/// of the seed's formula are inside W), on a grid, with the estimate and its error from the
/// curvature. Per-event likelihoods by VEGAS (one integral per event and grid point, common random
/// numbers across the grid) or by flow importance sampling (one set of draws per event, reused for
/// every theta, so -2 log L is a smooth function that GSL's Brent minimiser can follow).
public enum MEMScan {
    public enum Integrator: String, CaseIterable, Codable { case vegas, flow }

    public struct Request {
        public var parameter: MEMParameter
        public var grid: [Double]
        /// The hypotheses' other parameters, and the W' fraction unless it is scanned.
        public var base = ZWParameters(), fraction = 0.0
        public var integrator = Integrator.flow
        /// Flow draws per event; VEGAS' relative precision per integral.
        public var draws = 1_000, precision = 0.01
        /// Simulated events for P_sel(theta).
        public var selectionTrials = 200_000
        /// A learned transfer in place of the analytic response densities (flow integrator only).
        public var learnedTransfer: LearnedTransfer?
        public init(parameter: MEMParameter, grid: [Double]) { self.parameter = parameter; self.grid = grid }
    }

    public struct Output {
        /// log p(x_i | theta_j), [events][grid].
        public var logLikelihoods: [[Double]]
        /// Relative Monte Carlo error of each p(x_i | theta_j).
        public var relativeErrors: [[Double]]
        /// log P_sel(theta_j).
        public var logSelection: [Double]
        public var scan: ScanResult
        /// Integrand evaluations per event (flow: draws; VEGAS: summed over the grid).
        public var evaluations: [Int]
        /// Flow only: mean effective sample size at the estimate and the fraction of draws outside the phase space.
        public var meanEffectiveSampleSize: Double?, outsideFraction: Double?
    }

    /// Runs the scan; `progress(done, total)` after every event (under mpirun: this rank's events
    /// done, VEGAS spreads the events over the ranks).
    public static func run(_ events: [DetectorEvent], request: Request, transfer: TransferDensity, proposal: MEMProposal?, rng: RNGStream,
                           progress: (Int, Int) -> Void = { _, _ in }) throws -> Output {
        guard request.grid.count >= 3, zip(request.grid, request.grid.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw RefoldError.value("scan grid", expected: "at least 3 increasing values", actual: request.grid)
        }
        guard !events.isEmpty else { throw RefoldError.value("events", expected: ">= 1", actual: 0) }
        let densities = try request.grid.map { try request.parameter.density($0, base: request.base, fraction: request.fraction) }
        func density(_ theta: Double) throws -> ZWDensity { try request.parameter.density(theta, base: request.base, fraction: request.fraction) }
        // P_sel by reweighting one simulation at the grid's centre (for the W' fraction at 1/2,
        // so that both components are present).
        let centre = request.parameter == .wPrimeFraction ? 0.5 : request.grid[request.grid.count / 2]
        let selection = SelectionFraction(reference: try density(centre), detector: transfer.detector, trials: request.selectionTrials,
                                          rng: rng.child("selection"))
        func logSelection(_ d: ZWDensity) -> Double { log(selection.fraction(d).value) }
        let n = Double(events.count)
        let likelihoods = try events.map { e -> EventLikelihood in
            var l = try EventLikelihood(event: e, density: densities[request.grid.count / 2], transfer: transfer)
            l.learnedTransfer = request.learnedTransfer
            return l
        }
        if request.learnedTransfer != nil, request.integrator == .vegas {
            throw RefoldError.value("transfer for VEGAS", expected: "the analytic one (the learned transfer runs on batches of flow draws)", actual: "learned")
        }

        switch request.integrator {
        case .flow:
            guard let proposal else { throw RefoldError.value("--model", expected: "a MEM proposal (refold train mem) for the flow integrator", actual: "none") }
            var sampled: [ImportanceSampledEvent] = []
            let chunk = 64
            for start in stride(from: 0, to: likelihoods.count, by: chunk) {
                let part = Array(likelihoods[start..<min(likelihoods.count, start + chunk)])
                sampled += try FlowLikelihood.sample(part, proposal: proposal, draws: request.draws, rng: rng.child("flow").child(index: start / chunk), chunk: chunk)
                progress(sampled.count, likelihoods.count)
            }
            let perEvent = sampled.map { s in densities.map { s.estimate($0) } }
            let perEventLog = perEvent.map { $0.map(ImportanceSampledEvent.correctedLog) }
            let minusTwoLogL = { (theta: Double) -> Double in
                guard let d = try? density(theta) else { return .infinity }
                var total = 0.0
                for s in sampled { total -= 2 * s.logEstimate(d) }
                return total + 2 * n * logSelection(d)
            }
            let logSel = densities.map(logSelection)
            let gridValues = request.grid.indices.map { j in perEventLog.reduce(2 * n * logSel[j]) { $0 - 2 * $1[j] } }
            var scan = try LikelihoodScan.scan(minusTwoLogL, grid: request.grid, gridValues: gridValues, parameter: request.parameter,
                                               events: events.count, method: "flow importance sampling, Brent")
            scan.monteCarloError = try FlowLikelihood.monteCarloError(sampled, parameter: request.parameter, estimate: scan.estimate, error: scan.error,
                                                                      base: request.base, fraction: request.fraction)
            let best = try density(scan.estimate)
            let ess = sampled.map { $0.estimate(best).effectiveSampleSize }.reduce(0, +) / n
            let outside = Double(sampled.map(\.outside).reduce(0, +)) / Double(sampled.map(\.draws).reduce(0, +))
            return Output(logLikelihoods: perEventLog, relativeErrors: perEvent.map { $0.map { $0.error / $0.value } },
                          logSelection: logSel, scan: scan, evaluations: sampled.map(\.draws),
                          meanEffectiveSampleSize: ess, outsideFraction: outside)
        case .vegas:
            let schedule = Vegas.Schedule(warmUpCalls: 5_000, callsPerIteration: 4_000, maximumRuns: 12, relativeError: request.precision)
            // Under mpirun event i is integrated on rank i mod N (its stream depends on i alone), and
            // every rank gets all rows: the same numbers as one process.
            var done = 0
            let rows = try ProcessGroup.current.distributedMap(likelihoods.count) { i -> VegasRow in
                var row = VegasRow()
                for d in densities {
                    // Common random numbers: the same stream for every grid point of event i.
                    let r = try EventLikelihood(event: likelihoods[i].event, density: d, transfer: transfer).integrate(schedule, rng.child("vegas").child(index: i))
                    row.logL.append(log(r.value)); row.relativeErrors.append(r.error / r.value); row.evaluations += r.evaluations
                }
                done += 1
                progress(done, likelihoods.count)
                return row
            }
            let logL = rows.map(\.logL), errors = rows.map(\.relativeErrors), evaluations = rows.map(\.evaluations)
            let logSel = densities.map(logSelection)
            let values = request.grid.indices.map { j in -2 * logL.reduce(0) { $0 + $1[j] } + 2 * n * logSel[j] }
            // Independent per-event errors: sigma(-2 log L) = 2 sqrt(sum (sigma_i / L_i)^2).
            let pointErrors = request.grid.indices.map { j in 2 * errors.reduce(0) { $0 + $1[j] * $1[j] }.squareRoot() }
            let fit = try LikelihoodScan.parabola(grid: request.grid, minusTwoLogL: values, pointErrors: pointErrors)
            let scan = ScanResult(parameter: request.parameter.rawValue, grid: request.grid, minusTwoLogL: values, estimate: fit.estimate,
                                  error: fit.error, events: events.count, method: "VEGAS, parabola fit")
            return Output(logLikelihoods: logL, relativeErrors: errors, logSelection: logSel, scan: scan, evaluations: evaluations,
                          meanEffectiveSampleSize: nil, outsideFraction: nil)
        }
    }

    /// One event's VEGAS results over the grid.
    struct VegasRow: Codable {
        var logL: [Double] = [], relativeErrors: [Double] = [], evaluations = 0
    }

    /// "a:b:n" -> n equally spaced values from a to b.
    public static func grid(_ text: String) throws -> [Double] {
        let parts = text.split(separator: ":").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 3, let a = parts[0], let b = parts[1], let m = parts[2], a < b, m >= 3, m == m.rounded(), m <= 10_000 else {
            throw RefoldError.value("--grid", expected: "a:b:n with a < b and 3 <= n <= 10000 points", actual: text)
        }
        let count = Int(m)
        return (0..<count).map { a + (b - a) * Double($0) / Double(count - 1) }
    }
}
