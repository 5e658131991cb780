import Foundation

/// Maps TOML key paths (`study.kind`, `gate[1].tolerance`) to their line in the source text.
/// TOMLKit does not expose source positions of values, so the reader scans the text for
/// `[table]`, `[[array]]` headers and `key =` lines. Dotted keys and inline tables resolve to
/// the line of their first segment.
struct KeyLocator {
    private var lines: [String: Int] = [:]

    init(text: String) {
        var table = ""
        var arrayCounts: [String: Int] = [:]
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            let number = index + 1
            if line.hasPrefix("[[") {
                let name = Self.bare(line.dropFirst(2).prefix { $0 != "]" })
                let count = arrayCounts[name, default: 0]
                arrayCounts[name] = count + 1
                table = "\(name)[\(count)]"
                lines[table] = lines[table] ?? number
            } else if line.hasPrefix("[") {
                let name = Self.bare(line.dropFirst().prefix { $0 != "]" })
                table = Self.resolve(name, arrayCounts: arrayCounts)
                lines[table] = lines[table] ?? number
            } else if let equals = line.firstIndex(of: "="), !line.hasPrefix("#") {
                let key = Self.bare(line[..<equals])
                let path = table.isEmpty ? key : "\(table).\(key)"
                lines[path] = lines[path] ?? number
            }
        }
    }

    /// The line of `path`, or of its closest enclosing table.
    func line(of path: String) -> Int? {
        var candidate = path
        while true {
            if let line = lines[candidate] { return line }
            guard let cut = candidate.lastIndex(where: { $0 == "." || $0 == "[" }) else { return nil }
            candidate = String(candidate[..<cut])
        }
    }

    private static func bare<S: StringProtocol>(_ text: S) -> String {
        text.split(separator: ".").map {
            $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
        }.joined(separator: ".")
    }

    /// `profile.quick` inside the second `[[gate]]` would be `gate[1].x`: sub-tables of an array
    /// element attach to its latest element.
    private static func resolve(_ name: String, arrayCounts: [String: Int]) -> String {
        for (array, count) in arrayCounts where name.hasPrefix(array + ".") {
            return "\(array)[\(count - 1)]" + name.dropFirst(array.count)
        }
        return name
    }
}
