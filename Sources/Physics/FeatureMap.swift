import Foundation
import Tensor

/// The invertible map between event columns and network features (DESIGN.md "Physics conventions"):
/// pT columns become log(pT + offset) (offset 0 when every training pT is positive, 1 GeV when the
/// column has zero-padded slots), other columns pass through; then every feature is standardised
/// (x - mean) / std with mean and std fitted on training data (std 1 for constant columns).
/// Stored as JSON next to the network.
public struct FeatureMap: Codable, Equatable {
    public var columns: [String]
    /// Per column: nil for identity, the offset for log(x + offset).
    public var logOffsets: [Double?]
    public var means: [Double]
    public var stds: [Double]

    /// Offset used for pT columns that contain zero-padded entries (GeV).
    public static let paddedOffset = 1.0

    /// Fits the map on a training block.
    public static func fit(_ block: EventSample.Block) throws -> FeatureMap {
        guard block.rows > 0 else { throw RefoldError.value("FeatureMap.fit rows", expected: "> 0", actual: 0) }
        let d = block.columns.count
        var offsets = [Double?](repeating: nil, count: d)
        for (j, name) in block.columns.enumerated() where name.hasPrefix("pT_") {
            let column = block.column(j)
            if let negative = column.first(where: { $0 < 0 }) {
                throw RefoldError.value("FeatureMap.fit column \(name)", expected: "pT >= 0", actual: negative)
            }
            offsets[j] = column.allSatisfy { $0 > 0 } ? 0 : paddedOffset
        }
        var map = FeatureMap(columns: block.columns, logOffsets: offsets, means: .init(repeating: 0, count: d),
                             stds: .init(repeating: 1, count: d))
        let raw = map.unstandardisedFeatures(block.values, rows: block.rows)
        for j in 0..<d {
            var mean = 0.0
            for i in 0..<block.rows { mean += raw[i * d + j] }
            mean /= Double(block.rows)
            var variance = 0.0
            for i in 0..<block.rows { let x = raw[i * d + j] - mean; variance += x * x }
            let std = (variance / Double(max(block.rows - 1, 1))).squareRoot()
            map.means[j] = mean
            map.stds[j] = std > 1e-12 ? std : 1
        }
        return map
    }

    private func unstandardisedFeatures(_ values: [Double], rows: Int) -> [Double] {
        let d = columns.count
        var out = values
        for j in 0..<d { if let offset = logOffsets[j] { for i in 0..<rows { out[i * d + j] = log(values[i * d + j] + offset) } } }
        return out
    }

    private func check(_ block: EventSample.Block) throws {
        guard block.columns == columns else {
            throw RefoldError.value("FeatureMap columns", expected: "\(columns)", actual: block.columns)
        }
    }

    /// Event columns -> standardised features (same shape).
    public func features(_ block: EventSample.Block) throws -> EventSample.Block {
        try check(block)
        let d = columns.count
        var out = unstandardisedFeatures(block.values, rows: block.rows)
        for i in 0..<block.rows { for j in 0..<d { out[i * d + j] = (out[i * d + j] - means[j]) / stds[j] } }
        return EventSample.Block(columns: columns, rows: block.rows, values: out)
    }

    /// Standardised features -> event columns (the inverse of `features`).
    public func events(_ features: EventSample.Block) throws -> EventSample.Block {
        try check(features)
        let d = columns.count
        var out = features.values
        for i in 0..<features.rows {
            for j in 0..<d {
                let x = out[i * d + j] * stds[j] + means[j]
                out[i * d + j] = logOffsets[j].map { exp(x) - $0 } ?? x
            }
        }
        return EventSample.Block(columns: columns, rows: features.rows, values: out)
    }

    /// Features as a Float32 tensor for the networks.
    public func tensor(_ block: EventSample.Block) throws -> Tensor { try features(block).tensor() }

    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(try encoder.encode(self), to: url)
    }

    public static func read(from url: URL) throws -> FeatureMap {
        guard let data = FileManager.default.contents(atPath: url.path) else { throw RefoldError.file(url.path, "cannot read") }
        do { return try JSONDecoder().decode(FeatureMap.self, from: data) } catch {
            throw RefoldError.file(url.path, "not a feature map: \(error)")
        }
    }
}
