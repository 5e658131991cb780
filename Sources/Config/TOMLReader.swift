import Foundation
import Tensor
import TOMLKit

/// The one strict TOML reader of Refold (study specs, detector cards): typed access to one table,
/// every read names its key path, `finish()` rejects keys nobody read. Errors are
/// `RefoldError.file(file, line:, "key.path: ...")`.
public struct TOMLReader {
    let table: TOMLTable
    let path: String
    public let file: String
    let locator: KeyLocator
    private var read: Set<String> = []

    init(table: TOMLTable, path: String, file: String, locator: KeyLocator) {
        self.table = table
        self.path = path
        self.file = file
        self.locator = locator
    }

    /// The root table of `text` (syntax errors and the table-header guard name the file and line).
    public static func parse(_ text: String, file: String) throws -> TOMLReader {
        try TOMLGuard.checkTableHeaders(text, path: file)
        let root: TOMLTable
        do { root = try TOMLTable(string: text) } catch let parse as TOMLParseError {
            throw RefoldError.file(file, line: parse.source.begin.line, "TOML syntax: \(parse.description)")
        }
        return TOMLReader(table: root, path: "", file: file, locator: KeyLocator(text: text))
    }

    public func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    public func error(_ key: String, _ message: String) -> RefoldError {
        let full = keyPath(key)
        return RefoldError.file(file, line: locator.line(of: full), "\(full): \(message)")
    }

    private mutating func value(_ key: String) -> TOMLValueConvertible? {
        read.insert(key)
        return table[key]
    }

    private func wrongType(_ key: String, _ expected: String, _ value: TOMLValueConvertible) -> RefoldError {
        error(key, "expected \(expected), got \(value.type) \(value.debugDescription)")
    }

    public mutating func optionalBool(_ key: String) throws -> Bool? {
        guard let value = value(key) else { return nil }
        guard let bool = value.bool else { throw wrongType(key, "a boolean", value) }
        return bool
    }

    public mutating func optionalString(_ key: String) throws -> String? {
        guard let value = value(key) else { return nil }
        guard let string = value.string else { throw wrongType(key, "a string", value) }
        return string
    }

    public mutating func string(_ key: String) throws -> String {
        guard let string = try optionalString(key) else { throw error(key, "missing required key") }
        return string
    }

    public mutating func optionalEnum<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type) throws -> E?
    where E.RawValue == String {
        guard let raw = try optionalString(key) else { return nil }
        guard let value = E(rawValue: raw) else {
            throw error(key, "expected one of \(E.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(raw)\"")
        }
        return value
    }

    public mutating func enumeration<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type) throws -> E
    where E.RawValue == String {
        guard let value = try optionalEnum(key, type) else { throw error(key, "missing required key") }
        return value
    }

    /// An integer in `range` (inclusive).
    public mutating func optionalInt(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let value = value(key) else { return nil }
        guard let int = value.int else { throw wrongType(key, "an integer", value) }
        guard range.contains(int) else { throw error(key, "expected an integer in \(range), got \(int)") }
        return int
    }

    /// A number (integer or float) in `range` (inclusive).
    public mutating func optionalDouble(_ key: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let value = value(key) else { return nil }
        guard let number = value.double ?? value.int.map(Double.init) else { throw wrongType(key, "a number", value) }
        guard number.isFinite, range.contains(number) else {
            throw error(key, "expected a number in \(range.lowerBound)...\(range.upperBound), got \(number)")
        }
        return number
    }

    public mutating func double(_ key: String, in range: ClosedRange<Double>) throws -> Double {
        guard let number = try optionalDouble(key, in: range) else { throw error(key, "missing required key") }
        return number
    }

    public mutating func optionalDoubles(_ key: String, in range: ClosedRange<Double>) throws -> [Double]? {
        guard let value = value(key) else { return nil }
        guard let array = value.array else { throw wrongType(key, "an array of numbers", value) }
        return try array.enumerated().map { index, element in
            guard let number = element.double ?? element.int.map(Double.init) else {
                throw error("\(key)[\(index)]", "expected a number, got \(element.type) \(element.debugDescription)")
            }
            guard range.contains(number) else {
                throw error("\(key)[\(index)]", "expected a number in \(range.lowerBound)...\(range.upperBound), got \(number)")
            }
            return number
        }
    }

    public mutating func optionalEnums<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type) throws -> [E]?
    where E.RawValue == String {
        guard let value = value(key) else { return nil }
        guard let array = value.array else { throw wrongType(key, "an array of strings", value) }
        return try array.enumerated().map { index, element in
            guard let raw = element.string, let parsed = E(rawValue: raw) else {
                throw error("\(key)[\(index)]",
                            "expected one of \(E.allCases.map(\.rawValue).joined(separator: ", ")), got \(element.debugDescription)")
            }
            return parsed
        }
    }

    public mutating func optionalTable(_ key: String) throws -> TOMLReader? {
        guard let value = value(key) else { return nil }
        guard let table = value.table else { throw wrongType(key, "a table", value) }
        return TOMLReader(table: table, path: keyPath(key), file: file, locator: locator)
    }

    public mutating func tableArray(_ key: String) throws -> [TOMLReader] {
        guard let value = value(key) else { return [] }
        guard let array = value.array else { throw wrongType(key, "an array of tables ([[\(key)]])", value) }
        return try array.enumerated().map { index, element in
            guard let table = element.table else {
                throw error("\(key)[\(index)]", "expected a table, got \(element.type)")
            }
            return TOMLReader(table: table, path: "\(keyPath(key))[\(index)]", file: file, locator: locator)
        }
    }

    /// Free-form `key = value` parameters (numbers, strings, booleans, arrays of numbers or strings),
    /// each with where it was set (file, line, key path) for errors raised when a runner reads it.
    public func parameters() throws -> SpecParameters {
        var result = SpecParameters()
        for key in table.keys {
            let value = table[key]!
            let parameter: SpecParameter
            if let bool = value.bool { parameter = .bool(bool) }
            else if let int = value.int { parameter = .int(int) }
            else if let double = value.double { parameter = .double(double) }
            else if let string = value.string { parameter = .string(string) }
            else if let array = value.array {
                let numbers = array.compactMap { $0.double ?? $0.int.map(Double.init) }
                let strings = array.compactMap { $0.string }
                if numbers.count == array.count { parameter = .numbers(numbers) }
                else if strings.count == array.count { parameter = .strings(strings) }
                else { throw error(key, "expected an array of numbers or of strings, got \(array.debugDescription)") }
            } else {
                throw wrongType(key, "a number, string, boolean or array of numbers", value)
            }
            result.set(key, parameter, origin: ParameterOrigin(file: file, line: locator.line(of: keyPath(key)), keyPath: keyPath(key)))
        }
        return result
    }

    /// Throws for the first key (in file order) that was never read.
    public func finish() throws {
        let unknown = table.keys.filter { !read.contains($0) }
        guard !unknown.isEmpty else { return }
        let first = unknown.min { (locator.line(of: keyPath($0)) ?? .max) < (locator.line(of: keyPath($1)) ?? .max) }!
        let known = read.sorted().joined(separator: ", ")
        throw error(first, "unknown key (known keys: \(known))")
    }
}

/// A free-form generator or network parameter (`[generator.parameters]`, `[network.parameters]`).
public enum SpecParameter: Equatable, Sendable, Codable {
    case int(Int), double(Double), string(String), bool(Bool), numbers([Double]), strings([String])

    /// The value as a boolean, or nil.
    public var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The value as a number (integers convert), or nil.
    public var number: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }
}

/// Where a parameter was set, for errors: `file:line: key.path`.
public struct ParameterOrigin: Equatable, Sendable, Codable {
    public var file: String
    public var line: Int?
    public var keyPath: String
    public init(file: String, line: Int?, keyPath: String) { self.file = file; self.line = line; self.keyPath = keyPath }
}

/// A `[generator.parameters]` or `[network.parameters]` table: the values and where each was set,
/// with typed reads whose errors name `file:line: key.path`.
public struct SpecParameters: Equatable, Sendable, Codable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var values: [String: SpecParameter] = [:]
    public private(set) var origins: [String: ParameterOrigin] = [:]

    public init() {}
    public init(dictionaryLiteral elements: (String, SpecParameter)...) {
        for (key, value) in elements { values[key] = value }
    }

    /// The value of `key`; setting one in code drops its file origin.
    public subscript(key: String) -> SpecParameter? {
        get { values[key] }
        set { values[key] = newValue; origins[key] = nil }
    }

    public mutating func set(_ key: String, _ value: SpecParameter, origin: ParameterOrigin) {
        values[key] = value; origins[key] = origin
    }

    /// `other`'s keys over these (a profile's table over the base one), with their origins.
    public mutating func merge(_ other: SpecParameters) {
        for (key, value) in other.values { values[key] = value; origins[key] = other.origins[key] }
    }

    public func makeIterator() -> Dictionary<String, SpecParameter>.Iterator { values.makeIterator() }

    /// An error about `key`, naming the file, line and key path where it was set.
    public func error(_ key: String, _ message: String) -> RefoldError {
        guard let origin = origins[key] else { return RefoldError("parameters.\(key) (set in code): \(message)") }
        return RefoldError.file(origin.file, line: origin.line, "\(origin.keyPath): \(message)")
    }

    /// A number (integers convert), nil when absent.
    public func number(_ key: String) throws -> Double? {
        guard let value = values[key] else { return nil }
        guard let number = value.number else { throw error(key, "expected a number, got \(value)") }
        return number
    }

    /// true or false, nil when absent.
    public func flag(_ key: String) throws -> Bool? {
        guard let value = values[key] else { return nil }
        guard let bool = value.bool else { throw error(key, "expected true or false, got \(value)") }
        return bool
    }

    /// A list of strings (a single string is a list of one), nil when absent.
    public func strings(_ key: String) throws -> [String]? {
        guard let value = values[key] else { return nil }
        switch value {
        case .strings(let list): return list
        case .string(let one): return [one]
        default: throw error(key, "expected a list of strings, got \(Self.describe(value))")
        }
    }

    /// One of `E`'s raw values, nil when absent.
    public func enumeration<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type) throws -> E? where E.RawValue == String {
        guard let value = values[key] else { return nil }
        guard case .string(let raw) = value, let parsed = E(rawValue: raw) else {
            throw error(key, "expected one of \(E.allCases.map(\.rawValue).joined(separator: ", ")), got \(Self.describe(value))")
        }
        return parsed
    }

    /// A list of `E`'s raw values (a single string is a list of one), nil when absent.
    public func enumerations<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type) throws -> [E]? where E.RawValue == String {
        guard let value = values[key] else { return nil }
        let names: [String]
        switch value {
        case .strings(let list): names = list
        case .string(let one): names = [one]
        default: throw error(key, "expected a list of \(E.allCases.map(\.rawValue).joined(separator: ", ")), got \(Self.describe(value))")
        }
        return try names.map { name in
            guard let parsed = E(rawValue: name) else {
                throw error(key, "expected one of \(E.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(name)\"")
            }
            return parsed
        }
    }

    static func describe(_ value: SpecParameter) -> String {
        switch value {
        case .string(let s): return "\"\(s)\""
        case .int(let i): return "\(i)"
        case .double(let d): return "\(d)"
        case .bool(let b): return "\(b)"
        case .numbers(let n): return "\(n)"
        case .strings(let s): return "\(s)"
        }
    }
}

extension TOMLReader {
    /// This table as a typed-later section (`[network.cinn]`): every key, nested tables included,
    /// with where it was set. Non-finite numbers and mixed arrays are refused here.
    public mutating func section(_ key: String) throws -> SpecSection? {
        guard let reader = try optionalTable(key) else { return nil }
        let origin = ParameterOrigin(file: file, line: locator.line(of: reader.path), keyPath: reader.path)
        var origins: [String: ParameterOrigin] = [:]
        let values = try reader.sectionValues(prefix: "", origins: &origins)
        return SpecSection(origin: origin, values: values, origins: origins)
    }

    private func sectionValues(prefix: String, origins: inout [String: ParameterOrigin]) throws -> [String: SectionValue] {
        var result: [String: SectionValue] = [:]
        for key in table.keys {
            let inner = prefix.isEmpty ? key : "\(prefix).\(key)"
            let full = keyPath(inner)
            origins[inner] = ParameterOrigin(file: file, line: locator.line(of: full), keyPath: full)
            result[key] = try sectionValue(table[key]!, key: inner, origins: &origins)
        }
        return result
    }

    private func sectionValue(_ value: TOMLValueConvertible, key: String, origins: inout [String: ParameterOrigin]) throws -> SectionValue {
        if let bool = value.bool { return .bool(bool) }
        if let int = value.int { return .int(int) }
        if let double = value.double {
            guard double.isFinite else { throw error(key, "expected a finite number, got \(double)") }
            return .double(double)
        }
        if let string = value.string { return .string(string) }
        if let array = value.array {
            return .array(try array.enumerated().map { index, element in
                try sectionValue(element, key: "\(key)[\(index)]", origins: &origins)
            })
        }
        if let table = value.table {
            let reader = TOMLReader(table: table, path: path, file: file, locator: locator)
            return .table(try reader.sectionValues(prefix: key, origins: &origins))
        }
        throw wrongType(key, "a number, string, boolean, array or table", value)
    }
}
