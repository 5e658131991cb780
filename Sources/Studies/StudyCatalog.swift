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

extension NetworkSpec {
    /// `[network.parameters] lr_schedule`: "constant", "cosine" or "oneCycle" (nil when not set).
    func learningRateSchedule() throws -> LearningRateSchedule? {
        switch try parameters.enumeration("lr_schedule", ScheduleName.self) {
        case nil: return nil
        case .constant: return .constant
        case .cosine: return .cosine
        case .oneCycle: return .oneCycle
        }
    }
}

/// The schedules a study file may name in `lr_schedule`.
enum ScheduleName: String, CaseIterable {
    case constant, cosine, oneCycle
}
