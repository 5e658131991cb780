import Flows
import Tensor
import Unfolders
import Validation

/// Every study runner Refold ships, registered with the validation suite. A study kind missing
/// here is reported as pending with the reason its spec gives.
public enum StudyCatalog {
    /// The registry of every shipped study.
    public static func registry() -> StudyRegistry {
        var registry = StudyRegistry()
        registry.register(.binnedSmearing, BinnedSmearingStudy.run)
        registry.register(.zwDetector, ZWDetectorStudy.run)
        registry.register(.zwISR, ZWISRStudy.run)
        registry.register(.wprime, WPrimeStudy.run)
        registry.register(.wedge, WedgeStudy.run)
        registry.register(.kicker, KickerStudy.run)
        registry.register(.ring, RingStudy.run)
        registry.register(.drellYan, DrellYanStudy.run)
        registry.register(.errorsVsStatistics, ErrorsVsStatisticsStudy.run)
        registry.register(.zwCuts, ZWGANStudy.run)
        registry.register(.subtraction, singleThreaded(SubtractionStudy.run))
        registry.register(.mem, singleThreaded(MEMStudy.run))
        registry.register(.qcdInference, singleThreaded(QCDInferenceStudy.run))
        registry.register(.generator, GeneratorStudy.run)
        registry.register(.zwMEMFlow, ZWMEMFlowStudy.run)
        return registry
    }

    /// A runner on single-threaded BLAS: the skinny products of the small networks gain nothing
    /// from threads, and `make validate` runs two studies at once.
    static func singleThreaded(_ run: @escaping (StudyContext) throws -> StudyResult) -> (StudySpec, StudyContext) throws -> StudyResult {
        { _, context in try BLAS.withThreads(1) { try run(context) } }
    }
}

extension GeneratorSpec {
    /// A numeric generator parameter, or `fallback` when the spec does not set it.
    func number(_ name: String, default fallback: Double) throws -> Double {
        try parameters.number(name) ?? fallback
    }
}

extension StudyCatalog {
    /// Decodes the typed `[network.<section>]` tables of `spec` under every profile over the
    /// presets its runner uses, so that `refold validate` refuses a wrong key, type or value
    /// (file:line: key.path) before any study runs.
    public static func checkNetworkSections(_ spec: StudySpec) throws {
        for profile in ProfileName.allCases {
            let n = spec.settings(for: profile).network
            switch spec.kind {
            case .wedge, .kicker, .ring, .drellYan, .errorsVsStatistics: _ = try BINNStudy.configs(n)
            case .zwDetector, .zwISR, .wprime: _ = try UnfoldingTrainingRequest(study: n, variant: n.variant, profile: profile, seed: 0)
            case .zwCuts: _ = try ZWGANStudy.configs(n, profile: profile)
            case .subtraction: _ = try SubtractionStudy.configs(n)
            case .mem: _ = try MEMStudy.training(n)
            case .qcdInference: _ = try QCDInferenceStudy.configs(n, parameters: 2, maximumJets: 100, minimumJets: 10)
            case .generator: _ = try GeneratorStudy.configs(n)
            case .zwMEMFlow: _ = try ZWMEMFlowStudy.config(n, profile: profile)
            case .binnedSmearing: break
            }
        }
    }
}

