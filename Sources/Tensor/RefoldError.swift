import Foundation

/// The error every Refold entry point throws for bad input: the message names the
/// file (if any), the expected and the actual value.
public struct RefoldError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    /// A shape that does not match: `context: expected [a, b], got [c, d]`.
    public static func shape(_ context: String, expected: [Int], actual: [Int]) -> RefoldError {
        RefoldError("\(context): expected shape \(expected), got \(actual)")
    }

    /// A malformed file: `path:line: message`.
    public static func file(_ path: String, line: Int? = nil, _ message: String) -> RefoldError {
        if let line { return RefoldError("\(path):\(line): \(message)") }
        return RefoldError("\(path): \(message)")
    }

    /// A value outside its allowed range.
    public static func value(_ name: String, expected: String, actual: Any) -> RefoldError {
        RefoldError("\(name): expected \(expected), got \(actual)")
    }
}

extension RefoldError: LocalizedError {
    public var errorDescription: String? { message }
}

/// Writes `data` to `url` atomically: a temporary file in the same folder, then a rename,
/// so a reader never sees a half-written checkpoint, sample or report. Temporaries of the same
/// file left by a killed process (`.<name>.tmp-<pid>` whose process is gone) are removed first.
public func writeAtomically(_ data: Data, to url: URL) throws {
    let folder = url.deletingLastPathComponent()
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    removeStaleTemporaries(of: url)
    let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
    do {
        try data.write(to: temporary)
    } catch {
        throw RefoldError.file(temporary.path, "cannot write: \(error.localizedDescription)")
    }
    if rename(temporary.path, url.path) != 0 {
        let reason = String(cString: strerror(errno))
        try? FileManager.default.removeItem(at: temporary)
        throw RefoldError.file(url.path, "cannot move \(temporary.lastPathComponent) into place: \(reason)")
    }
}

/// Writes a UTF-8 string atomically (see `writeAtomically(_:to:)`).
public func writeAtomically(_ text: String, to url: URL) throws {
    try writeAtomically(Data(text.utf8), to: url)
}

/// Encodes `value` as pretty, key-sorted JSON and writes it atomically.
public func writeJSONAtomically<T: Encodable>(_ value: T, to url: URL) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try writeAtomically(try encoder.encode(value), to: url)
}

/// Decodes a JSON file; a missing file says what `needs` it, a bad one names `what` it should be.
public func readJSON<T: Decodable>(_ type: T.Type, from url: URL, needs: String, what: String) throws -> T {
    guard let data = FileManager.default.contents(atPath: url.path) else { throw RefoldError.file(url.path, "missing: \(needs)") }
    do { return try JSONDecoder().decode(T.self, from: data) } catch {
        throw RefoldError.file(url.path, "not \(what): \(error)")
    }
}

/// Removes every `.<name>.tmp-<pid>` file in `folder` whose process no longer runs (a model
/// folder at the start of a resumed training).
public func removeStaleTemporaries(in folder: URL) {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return }
    for name in names where name.hasPrefix(".") {
        guard let range = name.range(of: ".tmp-", options: .backwards) else { continue }
        removeStaleTemporaries(of: folder.appendingPathComponent(String(name[name.index(after: name.startIndex)..<range.lowerBound])))
    }
}

/// Removes `.<name>.tmp-<pid>` files beside `url` whose process no longer runs (kill -9 during a
/// write); a live process's temporary is left alone.
func removeStaleTemporaries(of url: URL) {
    let folder = url.deletingLastPathComponent(), prefix = ".\(url.lastPathComponent).tmp-"
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return }
    for name in names where name.hasPrefix(prefix) {
        guard let pid = Int32(name.dropFirst(prefix.count)), pid != getpid() else { continue }
        if kill(pid, 0) != 0 && errno == ESRCH { try? FileManager.default.removeItem(at: folder.appendingPathComponent(name)) }
    }
}
