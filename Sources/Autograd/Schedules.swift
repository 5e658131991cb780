import Foundation

/// A learning rate as a function of the step (0-based).
public protocol LRSchedule {
    func rate(step: Int) -> Float
}

/// lr0 gamma^step.
public struct ExponentialLR: LRSchedule {
    public let initial: Float, gamma: Float
    public init(initial: Float, gamma: Float) { self.initial = initial; self.gamma = gamma }
    public func rate(step: Int) -> Float { initial * Float(pow(Double(gamma), Double(step))) }
}

/// lr0 gamma^floor(step / stepSize).
public struct StepLR: LRSchedule {
    public let initial: Float, stepSize: Int, gamma: Float
    public init(initial: Float, stepSize: Int, gamma: Float) {
        precondition(stepSize > 0, "StepLR: expected stepSize > 0, got \(stepSize)")
        self.initial = initial; self.stepSize = stepSize; self.gamma = gamma
    }
    public func rate(step: Int) -> Float { initial * Float(pow(Double(gamma), Double(step / stepSize))) }
}

/// Cosine annealing from lr0 to `minimum` over `totalSteps`: min + (lr0 - min)(1 + cos(pi t/T))/2.
public struct CosineLR: LRSchedule {
    public let initial: Float, totalSteps: Int, minimum: Float
    public init(initial: Float, totalSteps: Int, minimum: Float = 0) {
        precondition(totalSteps > 0, "CosineLR: expected totalSteps > 0, got \(totalSteps)")
        self.initial = initial; self.totalSteps = totalSteps; self.minimum = minimum
    }
    public func rate(step: Int) -> Float {
        let t = Double(min(step, totalSteps)) / Double(totalSteps)
        return minimum + (initial - minimum) * Float((1 + cos(Double.pi * t)) / 2)
    }
}

/// One-cycle (Smith 2018, PyTorch's cosine form): from max/divFactor up to max over the first
/// `warmupFraction` of the steps, then down to max/(divFactor finalDivFactor).
public struct OneCycleLR: LRSchedule {
    public let maximum: Float, totalSteps: Int, warmupFraction: Double, divFactor: Float, finalDivFactor: Float
    public init(maximum: Float, totalSteps: Int, warmupFraction: Double = 0.3, divFactor: Float = 25, finalDivFactor: Float = 1e4) {
        precondition(totalSteps > 1, "OneCycleLR: expected totalSteps > 1, got \(totalSteps)")
        self.maximum = maximum; self.totalSteps = totalSteps; self.warmupFraction = warmupFraction
        self.divFactor = divFactor; self.finalDivFactor = finalDivFactor
    }
    public func rate(step: Int) -> Float {
        let start = maximum / divFactor, end = start / finalDivFactor
        let warm = max(1, warmupFraction * Double(totalSteps - 1))
        let s = Double(min(step, totalSteps - 1))
        func cosine(_ a: Float, _ b: Float, _ f: Double) -> Float { b + (a - b) * Float((1 + cos(Double.pi * f)) / 2) }
        if s <= warm { return cosine(start, maximum, s / warm) }
        return cosine(maximum, end, (s - warm) / max(1, Double(totalSteps - 1) - warm))
    }
}

/// The learning-rate schedule over the whole run (steps = epochs x batches per epoch).
/// Encoded as "constant", "cosine", "one-cycle" or `{ exponential = { gamma_per_epoch = 0.999 } }`
/// (a study file's `schedule` key); the keyed form of every case (`{"oneCycle": {}}`, written by
/// earlier model folders) still decodes.
public enum LearningRateSchedule: Codable, Equatable {
    case constant
    /// Cosine annealing to 0 (CosineLR).
    case cosine
    /// One-cycle with the configured rate as maximum (OneCycleLR).
    case oneCycle
    /// lr0 gamma^epoch, applied per step as gamma^(step / batches per epoch).
    case exponential(gammaPerEpoch: Float)

    /// The per-step schedule for a run of `totalSteps` optimizer steps, `stepsPerEpoch` of them an
    /// epoch, peaking at (or starting from) `rate`; nil for a constant rate.
    public func schedule(rate: Float, totalSteps: Int, stepsPerEpoch: Int) -> LRSchedule? {
        let total = max(2, totalSteps)
        switch self {
        case .constant: return nil
        case .cosine: return CosineLR(initial: rate, totalSteps: total)
        case .oneCycle: return OneCycleLR(maximum: rate, totalSteps: total)
        case .exponential(let gamma):
            return ExponentialLR(initial: rate, gamma: Float(Foundation.pow(Double(gamma), 1 / Double(max(1, stepsPerEpoch)))))
        }
    }
}

extension LearningRateSchedule {
    /// The names of the cases without a parameter, as a study file writes them.
    public static let names: [String: LearningRateSchedule] = ["constant": .constant, "cosine": .cosine, "one-cycle": .oneCycle]

    private enum Key: String, CodingKey { case constant, cosine, oneCycle, exponential }
    private enum ExponentialKey: String, CodingKey { case gammaPerEpoch }

    public init(from decoder: Decoder) throws {
        if let value = try decodeCaseName(decoder, Self.names, alternatives: " or { exponential = { gamma_per_epoch = g } }") {
            self = value
            return
        }
        let keyed = try decoder.container(keyedBy: Key.self)
        guard keyed.allKeys.count == 1, let key = keyed.allKeys.first else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription:
                "expected one of \"constant\", \"cosine\", \"one-cycle\" or { exponential = { gamma_per_epoch = g } }"))
        }
        switch key {
        case .constant: self = .constant
        case .cosine: self = .cosine
        case .oneCycle: self = .oneCycle
        case .exponential:
            // gammaPerEpoch in model folders, gamma_per_epoch in study files; nothing else.
            let inner = try keyed.nestedContainer(keyedBy: AnyCodingKey.self, forKey: .exponential)
            guard inner.allKeys.count == 1, let key = inner.allKeys.first, ["gammaPerEpoch", "gamma_per_epoch"].contains(key.stringValue) else {
                throw DecodingError.dataCorrupted(.init(codingPath: inner.codingPath, debugDescription:
                    "expected { exponential = { gamma_per_epoch = g } }, got keys \(inner.allKeys.map(\.stringValue))"))
            }
            self = .exponential(gammaPerEpoch: try inner.decode(Float.self, forKey: key))
        }
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .exponential(let gamma):
            var keyed = encoder.container(keyedBy: Key.self)
            var inner = keyed.nestedContainer(keyedBy: ExponentialKey.self, forKey: .exponential)
            try inner.encode(gamma, forKey: .gammaPerEpoch)
        default:
            var single = encoder.singleValueContainer()
            try single.encode(Self.names.first { $0.value == self }!.key)
        }
    }
}
