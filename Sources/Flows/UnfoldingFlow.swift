import Foundation

/// The named parts of a training loss (for progress lines and reports).
public enum LossTerm: String, Codable, CaseIterable, Comparable {
    /// -log p(x_p | x_d) per event (cINN, eq. 5.18).
    case negativeLogLikelihood
    /// MSE of g(x_p ⊕ r_p) against x_d (INN forward, detector direction).
    case mseDetector
    /// MSE of g^-1(x_d ⊕ r_d) against x_p (INN inverse, unfolding direction).
    case mseParton
    /// MMD on the caller's observables (masses) of generated against true parton level.
    case mmdObservables
    /// MMD on the caller's detector-level observables (INN forward direction).
    case mmdDetectorObservables
    /// Sum of per-feature 1D MMDs, both levels (eINN).
    case mmdFeatures
    /// Sum of per-feature MMDs of the latent noise against N(0, 1) (eINN).
    case mmdNoise
    /// Huber loss of a regression of the parton level (MEMFlow pre-training).
    case huberRegression

    public static func < (a: LossTerm, b: LossTerm) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// A batch loss: the differentiable total and the values of its (unweighted) terms.
public struct FlowLoss {
    public var total: Variable
    public var terms: [LossTerm: Float]

    public init(total: Variable, terms: [LossTerm: Float]) { self.total = total; self.terms = terms }
}

/// lambda(epoch) = initial * factor^floor(epoch / everyEpochs): the MMD weight schedule of
/// table 5.2 ("lambda_MMD increase 1.6 / 100 epochs", read as a factor 1.6 every 100 epochs).
public struct WeightSchedule: Codable, Equatable {
    public var initial: Float
    public var factor: Float
    public var everyEpochs: Int

    public init(initial: Float, factor: Float = 1, everyEpochs: Int = 100) {
        precondition(initial >= 0 && factor > 0 && everyEpochs > 0,
                     "WeightSchedule: expected initial >= 0, factor > 0, everyEpochs > 0, got \(initial), \(factor), \(everyEpochs)")
        self.initial = initial; self.factor = factor; self.everyEpochs = everyEpochs
    }

    public static let off = WeightSchedule(initial: 0)

    public func value(epoch: Int) -> Float {
        initial * Float(Foundation.pow(Double(factor), Double(epoch / everyEpochs)))
    }
}

/// A network that learns p(x_p | x_d) from paired events and samples parton-level events for
/// detector-level ones: the door through which FlowTrainer, `refold train` and `refold unfold` go.
public protocol UnfoldingFlow: Module {
    /// D_p, the parton-level features.
    var partonDimension: Int { get }
    /// D_d, the detector-level features.
    var detectorDimension: Int { get }
    /// The loss on one batch x_p [N, D_p], x_d [N, D_d]; `epoch` drives weight schedules, `rng`
    /// draws the noise the loss needs.
    func loss(partonLevel: Variable, detectorLevel: Variable, epoch: Int, rng: RNGStream) -> FlowLoss
    /// `count` parton-level samples per detector-level event: [N, K, D_p], without a graph.
    func sample(detectorLevel: Tensor, count: Int, rng: RNGStream) throws -> Tensor
}

extension UnfoldingFlow {
    /// Throws unless x_d is [N, D_d] and x_p (if given) is [N, D_p].
    public func checkBatch(partonLevel: Tensor?, detectorLevel: Tensor) throws {
        guard detectorLevel.rank == 2, detectorLevel.columns == detectorDimension else {
            throw RefoldError.shape("detector-level events", expected: [detectorLevel.rows, detectorDimension], actual: detectorLevel.shape)
        }
        if let partonLevel {
            guard partonLevel.rank == 2, partonLevel.shape == [detectorLevel.rows, partonDimension] else {
                throw RefoldError.shape("parton-level events", expected: [detectorLevel.rows, partonDimension], actual: partonLevel.shape)
            }
        }
    }
}

// MARK: Helpers

/// Standard normal noise [rows, columns] as a constant.
func gaussianNoise(rows: Int, columns: Int, rng: RNGStream) -> Variable {
    Variable(Tensor.normal([rows, columns], rng: rng))
}

/// Mean squared error over all elements.
func meanSquaredError(_ a: Variable, _ b: Variable) -> Variable { mean(square(a - b)) }

/// Samples [N, K, D_p] in chunks of about `rowsPerChunk` rows: `draw(conditionRows, k, rng)`
/// returns [n k, D_p] for n events with their rows repeated k times.
public func chunkedSampling(events: Int, count: Int, partonDimension: Int, rowsPerChunk: Int = 16_384, rng: RNGStream,
                     draw: (Range<Int>, RNGStream) -> Tensor) -> Tensor {
    let perChunk = max(1, rowsPerChunk / max(count, 1))
    var storage = [Float]()
    storage.reserveCapacity(events * count * partonDimension)
    var start = 0, chunk = 0
    withNoGrad {
        while start < events {
            let end = min(events, start + perChunk)
            let block = draw(start..<end, rng.child(index: chunk))
            storage.append(contentsOf: block.storage)
            start = end; chunk += 1
        }
    }
    return Tensor(shape: [events, count, partonDimension], storage: storage)
}
