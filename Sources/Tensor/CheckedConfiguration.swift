/// A configuration struct that checks its own ranges (sizes >= 1, rates > 0, ...). A study file's
/// typed section (`Config.SpecSection`) decoded into one calls `validate()` and names the
/// section's file and line on failure.
public protocol CheckedConfiguration {
    func validate() throws
}

/// A coding key of any name (the case names of a keyed enumeration, the keys of a payload).
public struct AnyCodingKey: CodingKey {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(_ string: String) { stringValue = string }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { nil }
}

/// A case-only enumeration in a config: decoded from its name (`clamp = "atan"` in a study file)
/// or from the keyed form `{"atan": {}}` that Swift's synthesised Codable wrote into earlier model
/// folders; encoded as its name.
public protocol NamedCases: Codable, Equatable {
    static var names: [String: Self] { get }
}

/// The case a decoder's string names (nil when the value is not a string; an unknown name throws
/// listing `names` and `alternatives`): the study-file form of an enumeration.
public func decodeCaseName<E>(_ decoder: Decoder, _ names: [String: E], alternatives: String = "") throws -> E? {
    guard let single = try? decoder.singleValueContainer(), let name = try? single.decode(String.self) else { return nil }
    guard let value = names[name] else {
        let choices = names.keys.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
        throw DecodingError.dataCorruptedError(in: single, debugDescription: "expected one of \(choices)\(alternatives), got \"\(name)\"")
    }
    return value
}

extension NamedCases {
    public init(from decoder: Decoder) throws {
        if let value = try decodeCaseName(decoder, Self.names) {
            self = value
            return
        }
        let choices = Self.names.keys.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
        let keyed = try decoder.container(keyedBy: AnyCodingKey.self)
        guard keyed.allKeys.count == 1, let value = Self.names[keyed.allKeys[0].stringValue] else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "expected one of \(choices)"))
        }
        self = value
    }

    public func encode(to encoder: Encoder) throws {
        var single = encoder.singleValueContainer()
        try single.encode(Self.names.first { $0.value == self }!.key)
    }
}
