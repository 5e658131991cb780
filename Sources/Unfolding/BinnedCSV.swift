import Foundation
import Tensor

/// The plain-text formats of `refold unfold-binned`. Blank lines and lines starting with `#`
/// are skipped; every error names the file and the line.
///
/// - response: one row per measured bin, comma-separated P(measured i | truth j) per truth bin.
/// - counts (data, prior, simulated truth/reco): one non-negative number per line.
/// - result: `value,error` per truth bin.
public enum BinnedCSV {
    /// Counts with the line each came from.
    public struct Counts {
        public let path: String
        public let values: [Double]
        public let lines: [Int]

        /// Throws `path:line` when the count differs from `expected` (named after `what`).
        public func requireCount(_ expected: Int, _ what: String) throws {
            if values.count > expected {
                throw RefoldError.file(path, line: lines[expected], "expected \(expected) counts (\(what)), got \(values.count): first extra count here")
            }
            if values.count < expected {
                throw RefoldError.file(path, line: lines.last, "expected \(expected) counts (\(what)), got \(values.count)")
            }
        }
    }

    public static func readResponse(_ url: URL) throws -> ResponseMatrix {
        try parseResponse(try text(url), path: url.path)
    }

    public static func readCounts(_ url: URL) throws -> Counts {
        try parseCounts(try text(url), path: url.path)
    }

    public static func parseResponse(_ text: String, path: String) throws -> ResponseMatrix {
        var rows: [[Double]] = []
        var firstLine = 0
        for (number, line) in contentLines(text) {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            if rows.isEmpty { firstLine = number }
            if let width = rows.first?.count, fields.count != width {
                throw RefoldError.file(path, line: number, "ragged row: expected \(width) columns (as on line \(firstLine)), got \(fields.count)")
            }
            rows.append(try fields.enumerated().map { column, field in
                let value = try self.number(String(field), path: path, line: number, what: "response entry in column \(column + 1)")
                guard value <= 1 else {
                    throw RefoldError.file(path, line: number, "column \(column + 1): expected a probability in [0, 1], got \(value)")
                }
                return value
            })
        }
        guard !rows.isEmpty else { throw RefoldError.file(path, "expected a response matrix, got no rows") }
        do { return try ResponseMatrix(rows: rows) } catch let error as RefoldError {
            throw RefoldError.file(path, error.message)
        }
    }

    public static func parseCounts(_ text: String, path: String) throws -> Counts {
        var values: [Double] = [], lines: [Int] = []
        for (number, line) in contentLines(text) {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == 1 else {
                throw RefoldError.file(path, line: number, "expected one count per line, got \(fields.count) fields")
            }
            values.append(try self.number(String(fields[0]), path: path, line: number, what: "count"))
            lines.append(number)
        }
        guard !values.isEmpty else { throw RefoldError.file(path, "expected counts, one per line, got none") }
        return Counts(path: path, values: values, lines: lines)
    }

    /// `value,error` lines (shortest round-trip decimal form).
    public static func format(_ result: UnfoldingResult) -> String {
        zip(result.values, result.errors).map { "\($0),\($1)\n" }.joined()
    }

    // MARK: Helpers

    private static func text(_ url: URL) throws -> String {
        do { return try String(contentsOf: url, encoding: .utf8) } catch {
            throw RefoldError.file(url.path, "cannot read: \(error.localizedDescription)")
        }
    }

    /// (1-based line number, trimmed content) of every non-blank, non-comment line.
    private static func contentLines(_ text: String) -> [(Int, String)] {
        text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { index, raw in
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            return line.isEmpty || line.hasPrefix("#") ? nil : (index + 1, line)
        }
    }

    private static func number(_ field: String, path: String, line: Int, what: String) throws -> Double {
        let trimmed = field.trimmingCharacters(in: .whitespaces)
        guard let value = Double(trimmed), value.isFinite else {
            throw RefoldError.file(path, line: line, "\(what): expected a number, got '\(trimmed)'")
        }
        guard value >= 0 else { throw RefoldError.file(path, line: line, "\(what): expected a value >= 0, got \(value)") }
        return value
    }
}
