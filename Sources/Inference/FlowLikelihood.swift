import Foundation
import Physics
import Tensor

/// One event's likelihood by importance sampling with a flow proposal q(y | x_d) in the
/// resonance-aligned coordinates of `MEMResidual`:
///
///     p(x_d | theta) ~ (1/K) sum_k p_lab(v_k | theta) W(x_d | v_k) |dv/dy|_k / q(y_k | x_d),   y_k ~ q,
///
/// with v_k = v(y_k; theta): each hypothesis maps the same draws through its own W Breit-Wigner
/// (m_qq = F_BW^-1(Phi(z); theta)), so each theta's estimate is an ordinary, unbiased
/// importance-sampling estimate with a proposal aligned to its Breit-Wigner, and the estimates of
/// nearby theta share their random numbers. Draws with a zero integrand (outside the phase space
/// or the selection) count in K with weight 0 (`outside`).
///
/// The draws are prepared once at the reference density `likelihood.density` (lab point, W,
/// Jacobians, N(tau)): a hypothesis with the same W mass, width and window (a scan of B or the W'
/// fraction) then only evaluates p; one with another W Breit-Wigner maps every draw again.
///
/// Error: the standard error of the mean of the K weights; the effective sample size
/// (sum w)^2 / sum w^2 says how many draws carry the estimate.
public struct ImportanceSampledEvent {
    public let likelihood: EventLikelihood
    let frame: MEMResidual.Frame
    /// The draws y (K x 6) and log q(y | x_d).
    let residual: [Double], logProposal: [Double]
    let normalisation: RapidityNormalisationTable
    /// The draws with a positive integrand at the reference density: their index, their point
    /// prepared for p(x | theta), and log(|dx_gen/dv| W |dv/dy| / q).
    public private(set) var points: [ZWDensity.PreparedPoint] = [], logBase: [Double] = []
    var kept: [Int] = []
    /// Draws in all, and those with a zero integrand at the reference density.
    public private(set) var draws = 0, outside = 0

    /// Keeps the draws `residual` (K x 6, Double) with their log q(y | x_d) for this event and
    /// prepares them at the reference density.
    public init(likelihood: EventLikelihood, residual: UnsafeBufferPointer<Double>, logProposal: ArraySlice<Double>) {
        let d = MEMResidual.dimension, k = residual.count / d
        precondition(k == logProposal.count, "ImportanceSampledEvent: expected \(k) proposal densities, got \(logProposal.count)")
        self.likelihood = likelihood
        frame = MEMResidual.Frame(likelihood.event)
        self.residual = Array(residual); self.logProposal = Array(logProposal)
        normalisation = RapidityNormalisationTable.shared(for: likelihood.density)
        draws = k
        for (i, point, base) in prepareAll(lineShape: likelihood.density) {
            kept.append(i); points.append(point); logBase.append(base)
        }
        outside = k - kept.count
    }

    /// Every draw mapped with the W Breit-Wigner of `lineShape`: the index, the point prepared for
    /// p(x | theta) and log(|dx_gen/dv| W |dv/dy| / q) of the draws whose integrand is not zero
    /// for every theta with this Breit-Wigner. W of all draws in one call (`logTransfers`), so
    /// that a learned transfer runs its networks once per event and line shape.
    func prepareAll(lineShape: ZWDensity) -> [(index: Int, point: ZWDensity.PreparedPoint, logBase: Double)] {
        var mapped: [(index: Int, v: EventLikelihood.LabVariables, logJacobian: Double)] = [], labPoints: [EventLikelihood.Point] = []
        residual.withUnsafeBufferPointer { r in
            for i in 0..<draws {
                guard let (v, logJacobian) = MEMResidual.labVariables(r.baseAddress! + i * MEMResidual.dimension, frame: frame, lineShape: lineShape),
                      let point = likelihood.labPoint(v) else { continue }
                mapped.append((i, v, logJacobian)); labPoints.append(point)
            }
        }
        let logW = likelihood.logTransfers(labPoints)
        var result: [(index: Int, point: ZWDensity.PreparedPoint, logBase: Double)] = []
        for (k, m) in mapped.enumerated() where logW[k] > -.infinity {
            let x = ZWPartonCoordinates(labPoints[k].hard), v = m.v
            let lab = log(EventLikelihood.labJacobian(x, leptonPTs: (v.leptonMinusPT, v.leptonPlusPT), freeQuarkPT: v.freeQuarkPT))
            guard lab.isFinite, let prepared = lineShape.prepare(x, rapidityNormalisation: normalisation.value(mass: x.mass)) else { continue }
            result.append((m.index, prepared, lab + logW[k] + m.logJacobian - logProposal[m.index]))
        }
        return result
    }

    /// Whether `density` has the reference density's W Breit-Wigner (then the prepared draws serve).
    func sharesLineShape(_ density: ZWDensity) -> Bool {
        let a = density.parameters, b = likelihood.density.parameters
        return a.wMass == b.wMass && a.wWidth == b.wWidth && a.massWindow == b.massWindow
    }

    /// log w_k(theta) of every draw (-infinity for a zero integrand).
    public func logWeights(_ density: ZWDensity) -> [Double] {
        var w = [Double](repeating: -.infinity, count: draws)
        if sharesLineShape(density) {
            for j in points.indices {
                let logP = density.logDensity(points[j])
                if logP > -.infinity { w[kept[j]] = logP + logBase[j] }
            }
        } else {
            for (i, point, base) in prepareAll(lineShape: density) {
                let logP = density.logDensity(point)
                if logP > -.infinity { w[i] = logP + base }
            }
        }
        return w
    }

    /// The estimate of p(x_d | theta) for the density `density` (theta): value, standard error,
    /// effective sample size.
    public func estimate(_ density: ZWDensity) -> (value: Double, error: Double, effectiveSampleSize: Double) {
        guard draws > 0 else { return (.nan, .nan, 0) }
        var sum = 0.0, sumSquares = 0.0
        for logW in logWeights(density) where logW > -.infinity {
            let w = exp(logW)
            sum += w; sumSquares += w * w
        }
        let k = Double(draws), mean = sum / k
        let variance = draws > 1 ? max(0, sumSquares / k - mean * mean) / (k - 1) : .infinity
        return (mean, variance.squareRoot(), sumSquares > 0 ? sum * sum / sumSquares : 0)
    }
}

extension ImportanceSampledEvent {
    /// log p(x_d | theta) with the first-order correction of the logarithm's bias: the mean of K
    /// weights with relative standard error r has E[log mean] = log p - r^2/2 + O(1/K^2), so
    /// log mean + r^2/2 (r from the same draws) is unbiased to O(1/K^2). Without it a scan over
    /// few draws per event leans towards the parameters where the proposal's weights vary least,
    /// the ones it was trained at (docs/mem.md: 128 draws moved m_W by 2.6 sigma on 500 events).
    public func logEstimate(_ density: ZWDensity) -> Double { Self.correctedLog(estimate(density)) }

    /// log value + r^2/2 of an `estimate` (-infinity for a zero estimate).
    public static func correctedLog(_ e: (value: Double, error: Double, effectiveSampleSize: Double)) -> Double {
        guard e.value > 0 else { return -.infinity }
        let r = e.error / e.value
        return log(e.value) + 0.5 * r * r
    }
}

extension ImportanceSampledEvent {
    /// The score g = d log p^(x_d | theta) / d theta from these draws, the self-normalised mean of
    /// the per-draw scores s_k = d log w_k(theta) / d theta (a central difference of `minus` and
    /// `plus`, 2h apart, around `density`; for the W mass the draws move with theta, so s_k is
    /// the derivative of the whole weight), and its Monte Carlo variance by the delta method,
    /// sum w_k^2 (s_k - g)^2 / (sum w_k)^2.
    public func score(_ density: ZWDensity, minus: ZWDensity, plus: ZWDensity, step h: Double) -> (value: Double, variance: Double) {
        let centre = logWeights(density), low = logWeights(minus), high = logWeights(plus)
        // One pass: sum w^2 (s - g)^2 = sum w^2 s^2 - 2 g sum w^2 s + g^2 sum w^2.
        var sumW = 0.0, sumWS = 0.0, sumW2 = 0.0, sumW2S = 0.0, sumW2S2 = 0.0
        for i in centre.indices where centre[i] > -.infinity {
            let w = exp(centre[i]), s = (high[i] - low[i]) / (2 * h)
            guard s.isFinite else { continue }
            sumW += w; sumWS += w * s
            sumW2 += w * w; sumW2S += w * w * s; sumW2S2 += w * w * s * s
        }
        guard sumW > 0 else { return (.nan, .nan) }
        let g = sumWS / sumW
        return (g, max(0, sumW2S2 - 2 * g * sumW2S + g * g * sumW2) / (sumW * sumW))
    }
}

extension FlowLikelihood {
    /// The error of a flow scan's estimate theta^ from the finite draws per event: theta^ solves
    /// sum_i g_i(theta) = (selection term), whose Monte Carlo noise sqrt(sum_i Var g_i) moves it by
    /// that over the information 1/sigma^2 (sigma: the statistical error from the curvature), so
    /// sigma_MC = sqrt(sum_i Var g_i) sigma^2. The draws of different events are independent.
    public static func monteCarloError(_ events: [ImportanceSampledEvent], parameter: MEMParameter, estimate: Double, error: Double,
                                       base: ZWParameters, fraction: Double = 0) throws -> Double {
        let h = 0.25 * error
        let centre = try parameter.density(estimate, base: base, fraction: fraction)
        let minus = try parameter.density(estimate - h, base: base, fraction: fraction)
        let plus = try parameter.density(estimate + h, base: base, fraction: fraction)
        let variance = events.reduce(0) { $0 + $1.score(centre, minus: minus, plus: plus, step: h).variance }
        return variance.squareRoot() * error * error
    }
}

/// Flow importance sampling for a set of events: draws from a `MEMProposal` in chunks and builds
/// each event's `ImportanceSampledEvent`.
public enum FlowLikelihood {
    /// K draws for every event (event i's draws from `rng.child(index: i / chunk)`, so the result
    /// does not depend on how events are batched elsewhere).
    public static func sample(_ likelihoods: [EventLikelihood], proposal: MEMProposal, draws: Int, rng: RNGStream,
                              chunk: Int = 256) throws -> [ImportanceSampledEvent] {
        guard draws >= 2 else { throw RefoldError.value("flow draws per event", expected: ">= 2", actual: draws) }
        var result: [ImportanceSampledEvent] = []
        result.reserveCapacity(likelihoods.count)
        let d = MEMResidual.dimension
        for (c, start) in stride(from: 0, to: likelihoods.count, by: chunk).enumerated() {
            let slice = Array(likelihoods[start..<min(likelihoods.count, start + chunk)])
            let (residual, logQ) = try proposal.draw(slice.map(\.event), count: draws, rng: rng.child(index: c))
            residual.withUnsafeBufferPointer { r in
                for (i, l) in slice.enumerated() {
                    let block = UnsafeBufferPointer(rebasing: r[(i * draws * d)..<((i + 1) * draws * d)])
                    result.append(ImportanceSampledEvent(likelihood: l, residual: block, logProposal: logQ[(i * draws)..<((i + 1) * draws)]))
                }
            }
        }
        return result
    }

    /// `sample`, then a fresh set of `refresh.draws` draws for every event whose effective sample
    /// size at its own reference density (`EventLikelihood.density`) stayed below
    /// `refresh.minimumESS`: the estimate of such an event comes from the fresh draws alone, which
    /// are independent of the decision to redraw, so it stays unbiased (adding them to the pilot
    /// draws would favour events whose pilot came out low). Also returns how many were redrawn.
    public static func sample(_ likelihoods: [EventLikelihood], proposal: MEMProposal, draws: Int, rng: RNGStream,
                              refresh: (minimumESS: Double, draws: Int), chunk: Int = 256) throws -> (events: [ImportanceSampledEvent], refreshed: Int) {
        guard refresh.draws > draws else {
            throw RefoldError.value("refresh draws per event", expected: "> \(draws) (the pilot draws)", actual: refresh.draws)
        }
        var events = try sample(likelihoods, proposal: proposal, draws: draws, rng: rng.child("pilot"), chunk: chunk)
        let poor = events.indices.filter { events[$0].estimate(likelihoods[$0].density).effectiveSampleSize < refresh.minimumESS }
        guard !poor.isEmpty else { return (events, 0) }
        let fresh = try sample(poor.map { likelihoods[$0] }, proposal: proposal, draws: refresh.draws, rng: rng.child("refresh"),
                               chunk: max(1, chunk * draws / refresh.draws))
        for (i, event) in zip(poor, fresh) { events[i] = event }
        return (events, poor.count)
    }
}
