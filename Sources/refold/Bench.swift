import ArgumentParser
import Flows
import Foundation
import GAN
import Inference
import NN
import Physics
import ToyModels
import Unfolders

/// `refold bench`: training-step speed of the engine against the sgemm roofline.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time MLP training steps (forward + backward + Adam) and their sgemm calls alone; print JSON lines.")

    @Option(help: "BLAS threads (default: REFOLD_BLAS_THREADS or 2; at most 256).") var threads: Int = BLAS.threads
    @Option(help: "Timed steps per workload (after 10 warm-up steps; at most 1000000).") var steps: Int = 200
    @Option(help: "Products with fewer multiply-adds run on one BLAS thread (a threshold, 0...10^15, allocates nothing).") var singleThreadBelow: Int = BLAS.singleThreadBelow
    @Option(help: "Seed of the random weights and batches.") var seed: UInt64 = 2026
    @Option(help: "Run only this workload (a, b, c, mem, memflow or flows; for profiling).") var only: String?
    @Flag(help: "Only the engine workloads (a)-(c), not the generators and networks.") var engineOnly = false

    func validate() throws {
        try checkCount("--threads", threads, in: 1...256)
        try checkCount("--steps", steps, in: 1...1_000_000)
        try checkCount("--single-thread-below", singleThreadBelow, in: 0...1_000_000_000_000_000)
    }

    func run() throws {
        BLAS.setThreads(threads)
        BLAS.singleThreadBelow = singleThreadBelow
        let rng = RNGStream(seed: seed)
        let wide = [12, 256, 256, 256, 12], deep = [12] + Array(repeating: 32, count: 8) + [12]
        if only == "memflow" { memflowWorkload(); return }
        if only == "mem" { memWorkload(); return }
        if only == "flows" { flowWorkloads(); return }
        if let only {
            guard ["a", "b", "c"].contains(only) else { throw ValidationError("--only: expected a, b, c, mem, memflow or flows, got \(only)") }
            let sizes = only == "b" ? deep : wide
            let step = only == "c" ? gemmRoofline(sizes: wide, batch: 512, rng: rng.child("roofline"))
                : trainStep(sizes: sizes, batch: 512, rng: rng.child(only == "a" ? "wide" : "deep"))
            print(line(only, median(timed(step)), gemmFlops(sizes: sizes, batch: 512), extra: [:]))
            return
        }
        // (a) and (c) alternate step by step, so both see the same machine load (the CPU is shared).
        let stepA = trainStep(sizes: wide, batch: 512, rng: rng.child("wide"))
        let stepC = gemmRoofline(sizes: wide, batch: 512, rng: rng.child("roofline"))
        let (timesA, timesC) = timedPair(stepA, stepC)
        let flopsA = gemmFlops(sizes: wide, batch: 512)
        let a = (ms: median(timesA), flops: flopsA), c = (ms: median(timesC), flops: flopsA)
        let b = (ms: median(timed(trainStep(sizes: deep, batch: 512, rng: rng.child("deep")))), flops: gemmFlops(sizes: deep, batch: 512))
        print(line("mlp_12-256x3-12_relu_b512_adam", a.ms, a.flops, extra: ["ratio_to_sgemm": a.ms / c.ms]))
        print(line("mlp_12-32x8-12_relu_b512_adam", b.ms, b.flops, extra: [:]))
        print(line("sgemm_calls_of_mlp_12-256x3-12_b512", c.ms, c.flops, extra: [:]))
        if !engineOnly { applicationWorkloads() }
    }

    /// Generators and networks at the sizes the issues name: 10^7 ring events, 10^6 ZW events
    /// through the detector, one epoch of the paper cINN (table 5.2) and FCGAN (table 4.1) on 290k
    /// events (extrapolated from timed batches), cINN sampling speed, and MEM per-event likelihoods
    /// by VEGAS to 1 % (20 zw events), the precision generators' truth samples and the Z+jets INN
    /// generator's training epoch and sampling rate.
    func applicationWorkloads() {
        let ring = ToyBenchmarks.ringSample(events: 10_000_000, seed: seed)
        record("ring_sample_1e7", ["seconds": ring.seconds, "events_per_second": Double(ring.events) / ring.seconds])
        let zw = ColliderBenchmarks.zwWithDetector(events: 1_000_000, seed: seed)
        record("zw_detector_1e6", ["seconds": zw.seconds, "events_per_second": Double(zw.events) / zw.seconds])
        let transfer = ColliderBenchmarks.transferDensity(evaluations: 100_000, seed: seed)
        record("transfer_density_zw_1e5", ["seconds": transfer.seconds, "microseconds_per_evaluation": transfer.seconds / Double(transfer.evaluations) * 1e6])
        memWorkload()
        flowWorkloads()
        let fcgan = GANBenchmarks.fcganEpoch(events: 290_000, config: .paper, seed: seed, batches: 10)
        record("fcgan_paper_epoch_290k", ["seconds": fcgan, "timed_batches": 10])
        let subtraction = GANBenchmarks.subtractionEpoch(events: 50_000, config: GANConfig(generatorLayers: 4, discriminatorLayers: 4, unitsPerLayer: 64,
                                                                                          noiseDimension: 32), seed: seed, batches: 20)
        record("subtraction_gan_quick_epoch_50k", ["seconds": subtraction, "timed_batches": 20])
        let drellYan = ColliderBenchmarks.electroweakDrellYan(events: 1_000_000, seed: seed)
        record("drell_yan_ew_b_1e6", ["seconds": drellYan.seconds, "events_per_second": Double(drellYan.events) / drellYan.seconds])
        let rambo = ColliderBenchmarks.ramboOnDiet(points: 1_000_000, seed: seed)
        record("rambo_on_diet_4body_1e6", ["massless_forward_seconds": rambo.masslessForward, "massless_inverse_seconds": rambo.masslessInverse,
                                           "massive_forward_seconds": rambo.massiveForward, "massive_inverse_seconds": rambo.massiveInverse])
        let shower = ShowerBenchmarks.jets(10_000, initial: .gluon, energy: 500, seed: seed)
        record("shower_gluon_500GeV_1e4", ["seconds": shower.seconds, "jets_per_second": 10_000 / shower.seconds, "mean_multiplicity": shower.multiplicity])
        for conditioner in [SplineFlowConfig.Conditioner.autoregressive, .coupling] {
            let spline = FlowBenchmarks.splineFlowStep(conditioner: conditioner, seed: seed)
            record("spline_flow_\(conditioner.rawValue)_quick_d10_c16_b512", ["training_step_ms": spline.trainingMilliseconds,
                   "sampling_pass_ms": spline.samplingMilliseconds, "sampling_tail_fraction": spline.samplingTailFraction])
        }
        let transformerQuick = TransformerBenchmarks.trainingStep(config: .quick, events: 512, tokens: 8, minimumTokens: 3, seed: seed)
        record("transformer_quick_d32x2_b512_t3to8_adam", ["forward_ms": transformerQuick.forwardMilliseconds,
                                                            "step_ms": transformerQuick.stepMilliseconds,
                                                            "parameters": Double(transformerQuick.parameters)])
        let transformerPaper = TransformerBenchmarks.trainingStep(config: .paper, events: 512, tokens: 8, minimumTokens: 3, seed: seed)
        record("transformer_paper_d64x4_b512_t3to8_adam", ["forward_ms": transformerPaper.forwardMilliseconds,
                                                            "step_ms": transformerPaper.stepMilliseconds,
                                                            "parameters": Double(transformerPaper.parameters)])
        let qcd = QCDInferenceBenchmarks.epochAndSampling(sets: 4_000, seed: seed)
        record("qcd_inference_quick_epoch_4000_sets", ["seconds": qcd.epochSeconds, "posterior_samples_per_second": qcd.samplesPerSecond])
        let precision = ColliderBenchmarks.precisionSamples(events: 1_000_000, seed: seed)
        record("z_jets_and_ttbar_truth_1e6", ["z_jets_events_per_second": 1e6 / precision.zJetsSeconds, "ttbar_events_per_second": 1e6 / precision.ttbarSeconds])
        parallelWorkloads(record)
        memflowWorkload()
    }

    /// The coupling-block networks: one epoch of the paper cINN (table 5.2) on 290k events and its
    /// sampling speed, the Z+jets INN generator's epoch and sampling rate, and one epoch of the
    /// Drell-Yan BINN (table 6.2) on 10^6 events (epochs extrapolated from timed batches).
    func flowWorkloads() {
        let cinn = FlowBenchmarks.cinnEpoch(events: 290_000, config: .paper, seed: seed, batches: 20)
        record("cinn_paper_epoch_290k", ["seconds": cinn, "timed_batches": 20])
        let sampling = FlowBenchmarks.sampling(events: 200, samples: 60, config: .paper, seed: seed)
        record("cinn_paper_sampling_60_per_event", ["events_per_second": sampling, "samples_per_second": 60 * sampling])
        let generator = FlowBenchmarks.densityFlowEpochAndSampling(config: DensityFlowConfig(dimension: 14, blocks: 10, layersPerBlock: 2, unitsPerLayer: 64),
                                                                   events: 60_000, seed: seed)
        record("inn_generator_3jet_quick_epoch_60k", ["seconds": generator.epochSeconds, "generated_events_per_second": generator.samplesPerSecond])
        // The ttbar generators of issue 16 (quick sizes, untrained: the same arithmetic as trained).
        record("ttbar_generators_quick_1e5", ["inn_events_per_second": (try? TTbarGenerator.generationSpeed(network: .inn, seed: seed)) ?? .nan,
                                              "gan_events_per_second": (try? TTbarGenerator.generationSpeed(network: .gan, seed: seed)) ?? .nan])
        let binn = FlowBenchmarks.binnEpoch(config: .drellYanPaper(), seed: seed, batches: 20)
        record("binn_drell_yan_paper_epoch_1e6", ["seconds": binn, "timed_batches": 20])
    }

    /// The MEM's per-event likelihoods at 1 %: VEGAS, and flow importance sampling with a quick
    /// proposal (docs/mem.md).
    func memWorkload() {
        let mem = InferenceBenchmarks.vegasLikelihood(events: 20, relativeError: 0.01, seed: seed)
        record("mem_vegas_likelihood_zw", ["seconds": mem.seconds, "likelihoods_per_second": Double(mem.events) / mem.seconds,
                                           "median_evaluations": mem.medianEvaluations, "relative_error": 0.01])
        let flow = InferenceBenchmarks.flowLikelihood(events: 20, draws: 10_000, trainingEvents: 50_000, epochs: 10, seed: seed)
        record("mem_flow_likelihood_zw", ["proposal_training_seconds": flow.trainingSeconds, "likelihoods_per_second_at_10k_draws": 1 / flow.secondsPerEvent,
                                          "median_draws_for_1_percent": flow.medianDrawsForOnePercent, "median_ess_fraction": flow.medianESSFraction,
                                          "vegas_over_flow_evaluations": mem.medianEvaluations / flow.medianDrawsForOnePercent,
                                          "likelihoods_per_second_at_1_percent": 1 / (flow.secondsPerEvent * flow.medianDrawsForOnePercent / 10_000)])
        let learned = InferenceBenchmarks.learnedTransfer(trainingEvents: 20_000, epochs: 5, seed: seed)
        record("mem_learned_transfer_zw", ["training_seconds": learned.trainingSeconds, "learned_evaluations_per_second": learned.learnedPerSecond,
                                           "analytic_evaluations_per_second": learned.analyticPerSecond, "mean_log_analytic_over_learned": learned.meanLogRatio])
    }

    func record(_ name: String, _ fields: [String: Double]) {
        let body = fields.sorted { $0.key < $1.key }.map { String(format: "\"\($0.key)\":%.4g", $0.value) }
        print("{\"name\":\"\(name)\"," + body.joined(separator: ",") + ",\"threads\":\(BLAS.threads)}")
    }

    /// One likelihood epoch of MEMFlow and its sampling rate (docs/memflow.md): quick on 20k zw-isr
    /// events, paper (the CMS sizes) on 4k; one BLAS thread, as the trainers use (2 threads are
    /// about 6x slower on these skinny products).
    func memflowWorkload() {
        BLAS.withThreads(1) {
            for (name, config, events) in [("quick", MEMFlowConfig.quick, 20_000), ("paper", MEMFlowConfig.paper, 4_000)] {
                let memflow = MEMFlowBenchmarks.epochAndSampling(events: events, config: config, seed: seed)
                record("memflow_\(name)_epoch_\(events)_events", ["seconds": memflow.epochSeconds, "events_per_second": memflow.eventsPerSecond,
                                                                  "samples_per_second": memflow.samplesPerSecond])
            }
        }
    }

    func line(_ name: String, _ ms: Double, _ flops: Double, extra: [String: Double]) -> String {
        var fields = ["\"name\":\"\(name)\"", String(format: "\"median_ms\":%.4f", ms),
                      String(format: "\"gflops\":%.2f", flops / ms / 1e6), "\"steps\":\(steps)", "\"threads\":\(threads)"]
        for (k, v) in extra.sorted(by: { $0.key < $1.key }) { fields.append(String(format: "\"\(k)\":%.3f", v)) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// sgemm FLOPs of one training step: forward x W^T, backward g^T x and g W (not for the input).
    func gemmFlops(sizes: [Int], batch: Int) -> Double {
        var f = 0.0
        for i in 0..<(sizes.count - 1) {
            let mnk = Double(batch * sizes[i] * sizes[i + 1])
            f += 2 * mnk * (i == 0 ? 2 : 3)
        }
        return f
    }

    func median(_ times: [Double]) -> Double { let s = times.sorted(); return s[s.count / 2] }

    func milliseconds(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
    }

    func timed(_ body: () -> Void) -> [Double] {
        for _ in 0..<10 { body() }
        return (0..<steps).map { _ in milliseconds(body) }
    }

    func timedPair(_ first: () -> Void, _ second: () -> Void) -> ([Double], [Double]) {
        for _ in 0..<10 { first(); second() }
        var a: [Double] = [], b: [Double] = []
        for _ in 0..<steps { a.append(milliseconds(first)); b.append(milliseconds(second)) }
        return (a, b)
    }

    /// One training step of an MLP (forward, mean squared error, backward, Adam).
    func trainStep(sizes: [Int], batch: Int, rng: RNGStream) -> () -> Void {
        let model = MLP(sizes: sizes, activation: .relu, rng: rng.child("init"))
        let optimizer = Adam(model.parameters, learningRate: 1e-4)
        let x = Variable(Tensor.normal([batch, sizes.first!], rng: rng.child("x")))
        let target = Variable(Tensor.normal([batch, sizes.last!], rng: rng.child("y")))
        return {
            let loss = mean(square(model(x) - target))
            backward(loss)
            optimizer.step()
            optimizer.zeroGrad()
        }
    }

    /// The sgemm calls of one training step on preallocated buffers: the roofline.
    func gemmRoofline(sizes: [Int], batch: Int, rng: RNGStream) -> () -> Void {
        let layers = sizes.count - 1
        let weights = (0..<layers).map { Tensor.normal([sizes[$0 + 1], sizes[$0]], rng: rng.child(index: $0)) }
        let activations = (0...layers).map { Tensor.normal([batch, sizes[$0]], rng: rng.child(index: 100 + $0)) }
        var outputs = (1...layers).map { Tensor(shape: [batch, sizes[$0]]) }
        var weightGrads = weights.map { Tensor(shape: $0.shape) }
        var inputGrads = (0..<layers).map { Tensor(shape: [batch, sizes[$0]]) }
        return {
            for i in 0..<layers { matmul(activations[i], weights[i], transposeB: true, into: &outputs[i], beta: 1) }
            for i in stride(from: layers - 1, through: 0, by: -1) {
                let g = activations[i + 1]
                matmul(g, activations[i], transposeA: true, into: &weightGrads[i])
                if i > 0 { matmul(g, weights[i], into: &inputGrads[i]) }
            }
        }
    }
}
