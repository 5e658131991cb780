import Foundation
import Tensor

/// A value of a typed section (`[network.cinn]`, `[network.training]`): TOML's scalars, arrays and
/// tables.
public indirect enum SectionValue: Equatable, Sendable, Codable {
    case int(Int), double(Double), string(String), bool(Bool), array([SectionValue]), table([String: SectionValue])

    /// The JSON-serialisable form (Foundation types) that `JSONDecoder` reads.
    var foundation: Any {
        switch self {
        case .int(let v): return v
        case .double(let v): return v
        case .string(let v): return v
        case .bool(let v): return v
        case .array(let list): return list.map(\.foundation)
        case .table(let table): return table.mapValues(\.foundation)
        }
    }
}

/// A typed section of a study file: a TOML table that decodes strictly into a trainer's own
/// `Codable` config struct *over a preset* (the variant's defaults for the profile). Keys are the
/// struct's property names in snake case (`units_per_layer`, `learning_rate`, `feature_mmd`); nested structs are
/// sub-tables (`[network.cinn.mmd_weight]` or `mmd_weight = { initial = 0.5 }`) merged key by key;
/// enumerations take their TOML form (`schedule = "cosine"`); `false` switches off an optional
/// setting (`gradient_clip = false`: no clipping). A profile's section
/// (`[profile.quick.network.training]`) merges into the base one key by key. Every error names
/// `file:line: key.path`: a key the struct does not have, a key the data sets, a wrong type, a
/// value out of range.
public struct SpecSection: Equatable, Sendable, Codable {
    public private(set) var values: [String: SectionValue] = [:]
    /// Where each key was set, by its dotted path inside the section (`mmd_weight.initial`).
    public private(set) var origins: [String: ParameterOrigin] = [:]
    /// Where the section itself was declared (its key path, e.g. `network.training`).
    public private(set) var origin: ParameterOrigin

    public init(origin: ParameterOrigin, values: [String: SectionValue] = [:], origins: [String: ParameterOrigin] = [:]) {
        self.origin = origin; self.values = values; self.origins = origins
    }

    public var isEmpty: Bool { values.isEmpty }

    /// Sets a top-level key in code (tests, studies built in code); errors name it as set in code.
    public mutating func set(_ key: String, _ value: SectionValue) {
        values[key] = value
        origins[key] = ParameterOrigin(file: "(set in code)", line: nil, keyPath: "\(origin.keyPath).\(key)")
    }

    /// `other`'s keys over these (a profile's section over the base one): tables merge key by key.
    public mutating func merge(_ other: SpecSection) {
        values = Self.merged(values, other.values)
        for (key, origin) in other.origins { origins[key] = origin }
    }

    private static func merged(_ base: [String: SectionValue], _ over: [String: SectionValue]) -> [String: SectionValue] {
        var result = base
        for (key, value) in over {
            if case .table(let a)? = base[key], case .table(let b) = value { result[key] = .table(merged(a, b)) } else { result[key] = value }
        }
        return result
    }

    /// An error about the key at `path` (dotted, inside the section), naming where it was set.
    public func error(_ path: String, _ message: String) -> RefoldError {
        var candidate = path
        while true {
            if let o = origins[candidate] {
                return RefoldError.file(o.file, line: o.line, "\(o.keyPath)\(path.dropFirst(candidate.count)): \(message)")
            }
            guard let cut = candidate.lastIndex(where: { $0 == "." || $0 == "[" }) else { break }
            candidate = String(candidate[..<cut])
        }
        let full = path.isEmpty ? origin.keyPath : "\(origin.keyPath).\(path)"
        return RefoldError.file(origin.file, line: origin.line, "\(full): \(message)")
    }

    /// `preset` with this section's keys applied. `derived` names keys the caller sets from the
    /// data (a section may not set them). Throws naming `file:line: key.path` for an unknown key, a
    /// wrong type or (through `CheckedConfiguration`) a value out of range.
    public func decode<T: Codable>(over preset: T, derived: Set<String> = []) throws -> T {
        let result = try decodeUnchecked(over: preset, derived: derived)
        do { try Self.validateAll(result) } catch let failure as RefoldError {
            throw culprit(over: preset, derived: derived, failure: failure)
        }
        return result
    }

    /// `validate()` of `value` and of every `CheckedConfiguration` inside it (a training config
    /// inside a MEMFlow config, the cINN inside the QCD network, an MMD inside a GAN).
    static func validateAll(_ value: Any) throws {
        if let checked = value as? CheckedConfiguration { try checked.validate() }
        for child in Mirror(reflecting: value).children { try validateAll(child.value) }
    }

    private func decodeUnchecked<T: Codable>(over preset: T, derived: Set<String>) throws -> T {
        guard var tree = try JSONSerialization.jsonObject(with: JSONEncoder().encode(preset)) as? [String: Any] else {
            throw RefoldError("\(origin.keyPath): \(T.self) does not encode as a table")
        }
        try apply(values, to: &tree, shape: Mirror(reflecting: preset), path: "", derived: derived)
        do {
            return try JSONDecoder().decode(T.self, from: JSONSerialization.data(withJSONObject: tree))
        } catch let failure as DecodingError {
            throw describe(failure)
        }
    }

    /// The error of a value out of range, at the line of the first key (in file order) that fails
    /// the checks alone over the preset; at the section's line when only a combination fails.
    private func culprit<T: Codable>(over preset: T, derived: Set<String>, failure: RefoldError) -> RefoldError {
        for (path, single) in leaves(values, prefix: "").sorted(by: { (origins[$0.0]?.line ?? .max, $0.0) < (origins[$1.0]?.line ?? .max, $1.0) }) {
            let alone = SpecSection(origin: origin, values: single, origins: origins)
            guard let decoded = try? alone.decodeUnchecked(over: preset, derived: derived) else { continue }
            if (try? Self.validateAll(decoded)) == nil { return self.error(path, "out of range: \(failure.message)") }
        }
        return RefoldError.file(origin.file, line: origin.line, "[\(origin.keyPath)]: \(failure.message)")
    }

    /// Every leaf key of `values` (dotted path) with a table holding only that leaf.
    private func leaves(_ values: [String: SectionValue], prefix: String) -> [(String, [String: SectionValue])] {
        values.flatMap { key, value -> [(String, [String: SectionValue])] in
            let path = prefix.isEmpty ? key : "\(prefix).\(key)"
            guard case .table(let inner) = value, !inner.isEmpty else { return [(path, [key: value])] }
            return leaves(inner, prefix: path).map { ($0.0, [key: .table($0.1)]) }
        }
    }

    /// Writes `values` into the encoded preset `tree`; `shape` (the preset's mirror) lists the keys a
    /// level allows, including optionals the preset leaves nil. Structs merge key by key; anything
    /// else (numbers, arrays, enumerations) is replaced whole.
    private func apply(_ values: [String: SectionValue], to tree: inout [String: Any], shape: Mirror, path: String,
                       derived: Set<String>) throws {
        var children: [String: (label: String, value: Any)] = [:]
        for child in shape.children { if let label = child.label { children[Self.snakeCase(label)] = (label, child.value) } }
        for key in values.keys.sorted() {
            let value = values[key]!
            let keyPath = path.isEmpty ? key : "\(path).\(key)"
            guard let (label, child) = children[key] else {
                throw error(keyPath, "unknown key (known keys: \(children.keys.filter { !derived.contains($0) }.sorted().joined(separator: ", ")))")
            }
            guard !derived.contains(keyPath) else { throw error(keyPath, "is set from the data and cannot be configured") }
            let inner = Self.unwrapped(child)
            if case .double(let number) = value, inner is Int || type(of: child) == Int?.self {
                throw error(keyPath, "expected an integer, got \(number)")
            }
            if case .bool(false) = value, Mirror(reflecting: child).displayStyle == .optional, !(inner is Bool) {
                tree[label] = NSNull()  // an optional setting switched off: TOML has no null
            } else if case .table(let table) = value, let inner, Mirror(reflecting: inner).displayStyle == .struct {
                var subtree = tree[label] as? [String: Any] ?? [:]
                try apply(table, to: &subtree, shape: Mirror(reflecting: inner), path: keyPath, derived: derived)
                tree[label] = subtree
            } else {
                tree[label] = value.foundation
            }
        }
    }

    /// The wrapped value of an optional (nil for `.none`), or the value itself.
    private static func unwrapped(_ value: Any) -> Any? {
        let mirror = Mirror(reflecting: value)
        guard mirror.displayStyle == .optional else { return value }
        return mirror.children.first?.value
    }

    /// A property name as a study file writes it: `unitsPerLayer` -> `units_per_layer`,
    /// `observableMMD` -> `observable_mmd`, `beta1` -> `beta1`.
    static func snakeCase(_ name: String) -> String {
        let characters = Array(name)
        var result = ""
        for (index, character) in characters.enumerated() {
            if character.isUppercase, index > 0 {
                let previous = characters[index - 1]
                let nextIsLower = index + 1 < characters.count && characters[index + 1].isLowercase
                if previous.isLowercase || previous.isNumber || (previous.isUppercase && nextIsLower) { result += "_" }
            }
            result += character.lowercased()
        }
        return result
    }

    private func describe(_ failure: DecodingError) -> RefoldError {
        func path(_ keys: [CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? Self.snakeCase($0.stringValue) }
                .joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch failure {
        case .typeMismatch(let type, let context):
            return error(path(context.codingPath), "expected \(Self.describe(type)) (\(context.debugDescription))")
        case .valueNotFound(let type, let context):
            return error(path(context.codingPath), "expected \(Self.describe(type))")
        case .keyNotFound(let key, let context):
            return error(path(context.codingPath), "missing required key \(Self.snakeCase(key.stringValue))")
        case .dataCorrupted(let context):
            return error(path(context.codingPath), context.debugDescription)
        @unknown default:
            return error("", "\(failure)")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type: return "an integer"
        case is Float.Type, is Double.Type: return "a number"
        case is Bool.Type: return "true or false"
        case is String.Type: return "a string"
        default: return "\(type)"
        }
    }
}
