/// The two INNs that invert the detector simulation itself (thesis sec. 5.3.1-5.3.2, eq. 5.17):
/// g: x_p ⊕ r_p -> x_d ⊕ r_d with D_p + D_rp = D_d + D_rd, r ~ N(0, 1).
public enum BidirectionalVariant: String, Codable, Equatable {
    /// Naive INN: D_rd = 0, MSE both directions + lambda MMD on the observables (masses).
    case naive
    /// Noise-extended eINN: noise on both sides; MMD on every feature, on the observables and on
    /// the noise (against N(0, 1)), in both directions, plus a weak MSE.
    case noiseExtended
}

/// Sizes and loss weights of the naive INN and the eINN (thesis table 5.1).
public struct BidirectionalINNConfig: Codable, Equatable {
    public var variant: BidirectionalVariant
    /// D_rd; D_rp follows as D_d + D_rd - D_p.
    public var detectorNoise: Int
    public var blocks: Int
    public var layersPerBlock: Int
    public var unitsPerLayer: Int
    public var clamp: SoftClamp
    public var initialization: SubnetInitialization
    /// Weight of the MSE terms (1 for the naive INN, weak for the eINN).
    public var mseWeight: Float
    /// lambda_MMD of all MMD terms.
    public var mmdWeight: WeightSchedule
    /// MMD on the caller's observables (GeV widths).
    public var observableMMD: MMDLoss
    /// MMD on single features and noise, in network units (standardised features).
    public var featureMMD: MMDLoss
    /// The MMD terms use the first `mmdEvents` rows of each (shuffled, so random) batch; nil: the
    /// whole batch. Their kernel sums grow as N^2: on the eINN's 56 one-dimensional MMDs they
    /// took about 90 % of a 512-event step.
    public var mmdEvents: Int?

    public init(variant: BidirectionalVariant, detectorNoise: Int, blocks: Int, layersPerBlock: Int, unitsPerLayer: Int,
                clamp: SoftClamp = .tanh, initialization: SubnetInitialization = .zeroLastLayer, mseWeight: Float,
                mmdWeight: WeightSchedule, observableMMD: MMDLoss = MMDLoss(widths: MMDLoss.massWidthsGeV),
                featureMMD: MMDLoss = MMDLoss(widths: [0.05, 0.2, 0.5, 1]), mmdEvents: Int? = nil) {
        self.variant = variant; self.detectorNoise = detectorNoise; self.blocks = blocks
        self.layersPerBlock = layersPerBlock; self.unitsPerLayer = unitsPerLayer; self.clamp = clamp
        self.initialization = initialization; self.mseWeight = mseWeight; self.mmdWeight = mmdWeight
        self.observableMMD = observableMMD; self.featureMMD = featureMMD; self.mmdEvents = mmdEvents
    }

    /// Table 5.1 INN: 24 blocks x 2 layers x 256 units, 12 + 4 <-> 16 + 0, lambda_MMD 0.1 (masses).
    public static let naivePaper = BidirectionalINNConfig(variant: .naive, detectorNoise: 0, blocks: 24, layersPerBlock: 2,
                                                          unitsPerLayer: 256, mseWeight: 1, mmdWeight: WeightSchedule(initial: 0.1))
    /// Table 5.1 eINN: 24 x 2 x 256, 12 + 16 <-> 16 + 12, lambda_MMD 0.2, MSE weight 0.1.
    public static let noiseExtendedPaper = BidirectionalINNConfig(variant: .noiseExtended, detectorNoise: 12, blocks: 24,
                                                                  layersPerBlock: 2, unitsPerLayer: 256, mseWeight: 0.1,
                                                                  mmdWeight: WeightSchedule(initial: 0.2))
    /// Quick: 8 x 2 x 64, the MMDs on 128 events of each batch.
    public static let naiveQuick = BidirectionalINNConfig(variant: .naive, detectorNoise: 0, blocks: 8, layersPerBlock: 2,
                                                          unitsPerLayer: 64, mseWeight: 1, mmdWeight: WeightSchedule(initial: 0.1),
                                                          mmdEvents: 128)
    public static let noiseExtendedQuick = BidirectionalINNConfig(variant: .noiseExtended, detectorNoise: 12, blocks: 8,
                                                                  layersPerBlock: 2, unitsPerLayer: 64, mseWeight: 0.1,
                                                                  mmdWeight: WeightSchedule(initial: 0.2), mmdEvents: 128)
}

/// The naive INN and the eINN (one class, `config.variant`): g: x_p ⊕ r_p -> x_d ⊕ r_d, an
/// unconditional stack of all-in-one couplings. Unfolding is g^-1(x_d ⊕ r_d) restricted to the
/// first D_p columns; the naive INN (D_rd = 0) is deterministic, so its K samples coincide.
/// Parameters "flow.block*".
public final class BidirectionalINN: UnfoldingFlow {
    public let partonDimension: Int
    public let detectorDimension: Int
    public let config: BidirectionalINNConfig
    public let flow: SequentialFlow
    /// Observables of parton-level (inverse direction) and detector-level (forward) vectors.
    public var partonObservables: ObservableMMD
    public var detectorObservables: ObservableMMD

    public var partonNoise: Int { detectorDimension + config.detectorNoise - partonDimension }
    public var dimension: Int { detectorDimension + config.detectorNoise }

    public init(partonDimension: Int, detectorDimension: Int, config: BidirectionalINNConfig,
                partonObservables: [Observable] = [], detectorObservables: [Observable] = [], rng: RNGStream) throws {
        guard config.detectorNoise >= 0, detectorDimension + config.detectorNoise >= partonDimension else {
            throw RefoldError.value("INN noise dimensions", expected: "D_d + D_rd >= D_p with D_rd >= 0 (D_p = \(partonDimension), D_d = \(detectorDimension))",
                                    actual: "D_rd = \(config.detectorNoise)")
        }
        guard config.variant == .noiseExtended || config.detectorNoise == 0 else {
            throw RefoldError.value("naive INN detector noise", expected: "0", actual: config.detectorNoise)
        }
        if let m = config.mmdEvents, m < 2 {
            throw RefoldError.value("INN mmdEvents", expected: ">= 2 (or nil for the whole batch)", actual: m)
        }
        self.partonDimension = partonDimension
        self.detectorDimension = detectorDimension
        self.config = config
        flow = couplingStack(dimension: detectorDimension + config.detectorNoise, blocks: config.blocks,
                             layers: config.layersPerBlock, units: config.unitsPerLayer, clamp: config.clamp,
                             initialization: config.initialization, rng: rng.child("flow"))
        self.partonObservables = ObservableMMD(observables: partonObservables, loss: config.observableMMD)
        self.detectorObservables = ObservableMMD(observables: detectorObservables, loss: config.observableMMD)
    }

    public var parameters: [(name: String, variable: Variable)] { prefixed("flow", flow) }

    /// x_p ⊕ r_p with fresh noise (or x_p alone when D_rp = 0); likewise for x_d.
    private func padded(_ x: Variable, noise: Int, rng: RNGStream) -> Variable {
        noise == 0 ? x : concat([x, gaussianNoise(rows: x.value.rows, columns: noise, rng: rng)])
    }

    /// MSE both directions, MMDs per `config.variant` (see the type's doc).
    public func loss(partonLevel: Variable, detectorLevel: Variable, epoch: Int, rng: RNGStream) -> FlowLoss {
        let n = partonLevel.value.rows
        let extended = config.variant == .noiseExtended
        // Detector direction (simulation).
        let y = flow.forward(padded(partonLevel, noise: partonNoise, rng: rng.child("rp")), condition: nil).y
        let yParts = split(y, sizes: [detectorDimension, config.detectorNoise].filter { $0 > 0 })
        // Unfolding direction.
        let x = flow.inverse(padded(detectorLevel, noise: config.detectorNoise, rng: rng.child("rd")), condition: nil).x
        let xParts = split(x, sizes: [partonDimension, partonNoise].filter { $0 > 0 })

        let mseDetector = meanSquaredError(yParts[0], detectorLevel)
        let mseParton = meanSquaredError(xParts[0], partonLevel)
        var terms: [LossTerm: Float] = [.mseDetector: mseDetector.scalar, .mseParton: mseParton.scalar]
        var total = (mseDetector + mseParton) * config.mseWeight
        var mmd: Variable? = nil
        func add(_ term: LossTerm, _ m: Variable?) {
            guard let m else { return }
            terms[term] = (terms[term] ?? 0) + m.scalar
            mmd = mmd.map { $0 + m } ?? m
        }
        let lambda = config.mmdWeight.value(epoch: epoch)
        if lambda > 0 {
            let m = min(n, config.mmdEvents ?? n)
            func head(_ v: Variable) -> Variable { m < n ? sliceRows(v, start: 0, count: m) : v }
            let generatedParton = head(xParts[0]), parton = head(partonLevel)
            let generatedDetector = head(yParts[0]), detector = head(detectorLevel)
            add(.mmdObservables, partonObservables(generated: generatedParton, truth: parton))
            add(.mmdDetectorObservables, detectorObservables(generated: generatedDetector, truth: detector))
            if extended {
                add(.mmdFeatures, config.featureMMD.marginals(generatedParton, parton))
                add(.mmdFeatures, config.featureMMD.marginals(generatedDetector, detector))
                let noiseRNG = rng.child("reference")
                if partonNoise > 0 {
                    add(.mmdNoise, config.featureMMD.marginals(head(xParts[1]), gaussianNoise(rows: m, columns: partonNoise, rng: noiseRNG)))
                }
                if config.detectorNoise > 0 {
                    add(.mmdNoise, config.featureMMD.marginals(head(yParts[1]), gaussianNoise(rows: m, columns: config.detectorNoise, rng: noiseRNG)))
                }
            }
            if let mmd { total = total + mmd * lambda }
        }
        return FlowLoss(total: total, terms: terms)
    }

    /// x_d ⊕ r_d (r_d fresh per sample) -> g^-1 -> the first D_p columns; [N, K, D_p].
    public func sample(detectorLevel: Tensor, count: Int, rng: RNGStream) throws -> Tensor {
        try checkBatch(partonLevel: nil, detectorLevel: detectorLevel)
        guard count >= 1 else { throw RefoldError.value("samples per event", expected: ">= 1", actual: count) }
        return chunkedSampling(events: detectorLevel.rows, count: count, partonDimension: partonDimension, rng: rng) { range, rng in
            let repeated = Variable(repeatRows(gatherRows(detectorLevel, range), times: count))
            let x = flow.inverse(padded(repeated, noise: config.detectorNoise, rng: rng), condition: nil).x
            return sliceColumns(x.value, start: 0, count: partonDimension)
        }
    }
}

extension BidirectionalINNConfig: CheckedConfiguration {
    /// Throws unless the sizes are >= 1 (noise >= 0) and the loss weights non-negative (the MMDs
    /// and the schedule are checked by their own types).
    public func validate() throws {
        guard detectorNoise >= 0, blocks >= 1, layersPerBlock >= 1, unitsPerLayer >= 1, mseWeight >= 0, mmdWeight.initial >= 0,
              (mmdEvents ?? 1) >= 1 else {
            throw RefoldError.value("BidirectionalINNConfig", expected: "detector_noise >= 0, blocks, layers_per_block, units_per_layer >= 1, mse_weight >= 0, mmd_weight >= 0, mmd_events >= 1",
                                    actual: "\(detectorNoise), \(blocks), \(layersPerBlock), \(unitsPerLayer), \(mseWeight), \(mmdWeight.initial), \(mmdEvents.map(String.init) ?? "all")")
        }
    }
}
