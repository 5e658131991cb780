import ArgumentParser
import Flows
import Foundation
import Unfolders
import Tensor

/// `refold density`: p(x) and sigma_pred(x) of a trained BINN (thesis eq. 6.32) at the points of
/// a grid (2D models) or along a line, from M weight draws.
struct Density: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "BINN density p(x) and its uncertainty sigma_pred(x) on a grid or along a line (eq. 6.32).")

    @Option(help: "A model from `refold train binn`.") var model: String
    @Option(help: "Grid of a 2D model: x0:x1:nx,y0:y1:ny (cell centres).") var grid: String?
    @Option(help: "Line from a to b with n points: a1,a2,...:b1,b2,...:n.") var line: String?
    @Option(help: "Weight draws M (30-50 in the thesis; 2...1000).") var draws: Int = 30
    @Option(help: "Seed of the weight draws.") var seed: UInt64 = 2026
    @Option(help: "Output folder: points.npy, density.npy, sigma_pred.npy, density.csv.") var out: String
    @Flag(help: "Overwrite an existing --out (never one of the inputs).") var force = false

    func validate() throws {
        guard (grid == nil) != (line == nil) else { throw ValidationError("give exactly one of --grid and --line") }
        try checkCount("--draws", draws, in: 2...1_000)
    }

    /// "x0:x1:n" -> n cell centres of [x0, x1].
    static func axis(_ text: String, option: String) throws -> [Double] {
        let parts = text.split(separator: ":").map(String.init)
        guard parts.count == 3, let a = Double(parts[0]), let b = Double(parts[1]), let n = Int(parts[2]), n >= 1, b > a else {
            throw ValidationError("\(option): expected low:high:n with high > low and n >= 1, got '\(text)'")
        }
        return (0..<n).map { a + (b - a) * (Double($0) + 0.5) / Double(n) }
    }

    /// The points of `--grid` or `--line`; their count is checked against the memory first
    /// (`bytesPerPoint`: the arrays held per point), before any is made.
    static func points(grid: String?, line: String?, dimension: Int, bytesPerPoint: Int) throws -> [[Double]] {
        let count = { (option: String, n: Int) in try checkMemory("\(option) points", count: n, bytesPerItem: bytesPerPoint) }
        if let grid {
            let axes = grid.split(separator: ",").map(String.init)
            guard dimension == 2, axes.count == 2 else {
                throw ValidationError("--grid: expected x0:x1:nx,y0:y1:ny for a 2D model, got '\(grid)' for a \(dimension)D model")
            }
            let sizes = axes.map { $0.split(separator: ":").last.flatMap { Int($0) } ?? 1 }
            let (product, overflow) = sizes[0].multipliedReportingOverflow(by: sizes[1])
            try count("--grid (\(sizes[0]) x \(sizes[1]))", overflow ? Int.max : product)
            let xs = try axis(axes[0], option: "--grid"), ys = try axis(axes[1], option: "--grid")
            return xs.flatMap { x in ys.map { [x, $0] } }
        }
        let parts = line!.split(separator: ":").map(String.init)
        let a = parts.first.map { $0.split(separator: ",").compactMap { Double($0) } } ?? []
        let b = parts.count > 1 ? parts[1].split(separator: ",").compactMap { Double($0) } : []
        guard parts.count == 3, a.count == dimension, b.count == dimension, let n = Int(parts[2]), n >= 2 else {
            throw ValidationError("--line: expected a1,...,a\(dimension):b1,...,b\(dimension):n with n >= 2, got '\(line!)'")
        }
        try count("--line", n)
        return (0..<n).map { k in let t = Double(k) / Double(n - 1); return zip(a, b).map { $0 + t * ($1 - $0) } }
    }

    func run() throws {
        try OutputGuard.check(URL(fileURLWithPath: out), inputs: [("--model", URL(fileURLWithPath: model))], force: force)
        let binn = try BINNModel.load(from: URL(fileURLWithPath: model))
        let d = binn.dimension
        // Per point: its coordinates (Double and Float), M draws of the density, the estimate, the CSV line.
        let pts = try Density.points(grid: grid, line: line, dimension: d, bytesPerPoint: 12 * d + 8 * draws + 16 + 64)
        let tensor = Tensor(shape: [pts.count, d], storage: pts.flatMap { $0.map(Float.init) })
        let estimate = try binn.density(at: tensor, draws: draws, rng: RNGStream(seed: seed).child("density"))
        let folder = URL(fileURLWithPath: out)
        let arrays = [("points.npy", NPYArray(shape: [pts.count, d], values: pts.flatMap { $0 }, dtype: .float64)),
                      ("density.npy", NPYArray(shape: [pts.count], values: estimate.density, dtype: .float64)),
                      ("sigma_pred.npy", NPYArray(shape: [pts.count], values: estimate.sigma, dtype: .float64))]
        for (name, array) in arrays { try array.requireFinite(folder.appendingPathComponent(name)) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (name, array) in arrays { try array.write(to: folder.appendingPathComponent(name)) }
        var csv = (binn.columns + ["density", "sigma_pred"]).joined(separator: ",") + "\n"
        for (i, p) in pts.enumerated() { csv += (p + [estimate.density[i], estimate.sigma[i]]).map { "\($0)" }.joined(separator: ",") + "\n" }
        try writeAtomically(csv, to: folder.appendingPathComponent("density.csv"))
        print("\(pts.count) points, M = \(draws) draws -> \(folder.path)")
    }
}
