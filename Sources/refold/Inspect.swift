import ArgumentParser
import Foundation
import Physics
import Tensor
import Unfolders

/// `refold inspect DIR`: a summary of any event sample.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Summarise an event sample (counts, selection efficiency, jet multiplicities, cut pass fractions, key observables) or describe a trained model.")

    @Argument(help: "A sample folder (meta.json plus npy arrays) or a model written by refold train (folder, or .safetensors for the BINN).")
    var folder: String
    @OptionGroup var nonFinite: NonFiniteOption

    func run() throws {
        let url = URL(fileURLWithPath: folder)
        if ModelFolders.kind(at: url) != nil {
            print(try ModelFolders.describe(url).joined(separator: "\n"))
            return
        }
        guard FileManager.default.fileExists(atPath: url.appendingPathComponent("meta.json").path) else {
            throw RefoldError.file(url.path, "neither an event sample (no meta.json) nor a model (expected one of: "
                                   + ModelFolders.all.map(\.name).joined(separator: "; ") + ")")
        }
        let sample = try readEvents(url, nonFinite.policy)
        print(Inspect.summary(sample))
    }

    static func summary(_ sample: EventSample) -> String {
        var lines = ["sample \(sample.generator) (\(sample.level.rawValue)), seed \(sample.seed), \(sample.count) events, units \(sample.units)",
                     String(format: "selection efficiency %.4f", sample.selectionEfficiency)]
        for (name, block) in sample.blocks { lines.append("\(name): \(block.columns.count) columns \(block.columns.joined(separator: " "))") }
        if let njets = sample.njets {
            var counts: [Int: Int] = [:]
            for n in njets { counts[n, default: 0] += 1 }
            let text = counts.keys.sorted().map { String(format: "%d: %.3f", $0, Double(counts[$0]!) / Double(njets.count)) }
            lines.append("jet multiplicity (last = or more) " + text.joined(separator: ", "))
        }
        if let detector = sample.detector {
            for cut in JetCut.allCases {
                if let f = try? cut.passFraction(detector) { lines.append(String(format: "cut %-3@ pass fraction %.4f", cut.rawValue, f)) }
            }
        }
        for (name, block) in sample.blocks {
            for observable in Observable.allCases {
                let v = observable.values(block)
                guard !v.isEmpty else { continue }
                let mean = v.reduce(0, +) / Double(v.count)
                let std = (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(v.count - 1, 1))).squareRoot()
                let sorted = v.sorted()
                let median = sorted[sorted.count / 2], iqr = sorted[3 * sorted.count / 4] - sorted[sorted.count / 4]
                lines.append(String(format: "%@ %-6@ mean %9.3f  std %9.3f  median %9.3f  IQR %8.3f GeV", name, observable.rawValue, mean, std, median, iqr))
            }
        }
        if let events = sample.events {
            for (j, name) in events.columns.enumerated() {
                let v = events.column(j), mean = v.reduce(0, +) / Double(max(v.count, 1))
                let std = (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(v.count - 1, 1))).squareRoot()
                lines.append(String(format: "events %-8@ mean %9.4f  std %9.4f", name, mean, std))
            }
        }
        if let events = sample.events, events.columns == DrellYanProduction.columns {
            let m = (0..<events.rows).map { row -> Double in
                let (e, ebar) = DrellYanProduction.momenta((0..<4).map { events[row, $0] })
                return (e + ebar).mass
            }
            let mean = m.reduce(0, +) / Double(max(m.count, 1))
            lines.append(String(format: "events m_ee   mean %9.3f GeV", mean))
        }
        return lines.joined(separator: "\n")
    }
}
