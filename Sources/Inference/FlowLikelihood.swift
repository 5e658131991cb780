import Foundation
import Physics
import Tensor

/// One event's likelihood by importance sampling with a flow proposal q(v | x_d):
///
///     p(x_d | theta) ~ (1/K) sum_k p_lab(v_k | theta) W(x_d | v_k) / q(v_k | x_d),   v_k ~ q,
///
/// with the K draws kept, so that every theta of a scan reuses them (W, the lab Jacobian, q and
/// the rapidity normalisation N(m) do not depend on theta, only p does). Draws with a zero
/// integrand (outside the phase space or the selection) count in K with weight 0 (`outside`).
///
/// Error: the standard error of the mean of the K weights; the effective sample size
/// (sum w)^2 / sum w^2 says how many draws carry the estimate.
public struct ImportanceSampledEvent {
    public let likelihood: EventLikelihood
    /// Generator coordinates of the kept draws, their N(m), and log(|dx_gen/dv| W / q).
    public private(set) var coordinates: [ZWPartonCoordinates] = [], normalisations: [Double] = [], logBase: [Double] = []
    /// Draws in all, and those with a zero integrand.
    public private(set) var draws = 0, outside = 0

    /// Evaluates the theta-independent parts of the draws `residual` (K x 6, Double) with their
    /// log q(r | x_d) for this event.
    public init(likelihood: EventLikelihood, residual: UnsafeBufferPointer<Double>, logProposal: ArraySlice<Double>) {
        self.likelihood = likelihood
        append(residual: residual, logProposal: logProposal)
    }

    private mutating func append(residual: UnsafeBufferPointer<Double>, logProposal: ArraySlice<Double>) {
        let d = MEMResidual.dimension, k = residual.count / d
        precondition(k == logProposal.count, "ImportanceSampledEvent: expected \(k) proposal densities, got \(logProposal.count)")
        let density = likelihood.density
        for i in 0..<k {
            draws += 1
            guard let (v, logJacobian) = MEMResidual.labVariables(residual.baseAddress! + i * d, detector: likelihood.event),
                  let point = likelihood.labPoint(v) else { outside += 1; continue }
            let logW = likelihood.logTransfer(point)
            guard logW > -.infinity else { outside += 1; continue }
            let x = ZWPartonCoordinates(point.hard)
            let lab = log(EventLikelihood.labJacobian(x, leptonPTs: (v.leptonMinusPT, v.leptonPlusPT), freeQuarkPT: v.freeQuarkPT))
            let n = density.rapidityNormalisation(mass: x.mass)
            guard lab.isFinite, n > 0 else { outside += 1; continue }
            coordinates.append(x); normalisations.append(n)
            // q in v: q_r / |dv/dr|.
            logBase.append(lab + logW - (logProposal[logProposal.startIndex + i] - logJacobian))
        }
    }

    /// The estimate of p(x_d | theta) for the density `density` (theta): value, standard error,
    /// effective sample size.
    public func estimate(_ density: ZWDensity) -> (value: Double, error: Double, effectiveSampleSize: Double) {
        guard draws > 0 else { return (.nan, .nan, 0) }
        var sum = 0.0, sumSquares = 0.0
        for i in coordinates.indices {
            let logP = density.logDensity(coordinates[i], rapidityNormalisation: normalisations[i])
            guard logP > -.infinity else { continue }
            let w = exp(logP + logBase[i])
            sum += w; sumSquares += w * w
        }
        let k = Double(draws), mean = sum / k
        let variance = draws > 1 ? max(0, sumSquares / k - mean * mean) / (k - 1) : .infinity
        return (mean, variance.squareRoot(), sumSquares > 0 ? sum * sum / sumSquares : 0)
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
}
