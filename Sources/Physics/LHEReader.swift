import Foundation
import Tensor

/// One particle of a Les Houches event (Alwall et al., hep-ph/0609017).
public struct LHEParticle: Equatable {
    /// PDG id (IDUP) and status (ISTUP: -1 incoming, 1 final state, 2 intermediate).
    public var pdgID: Int, status: Int
    public var momentum: FourMomentum
    public var mass: Double
}

/// One `<event>` block.
public struct LHEEvent: Equatable {
    public var weight: Double
    public var particles: [LHEParticle]
    /// Particles with ISTUP = 1.
    public var finalState: [LHEParticle] { particles.filter { $0.status == 1 } }
}

/// Reads parton-level events from LHE files: each `<event>` block has a header line
/// `NUP IDPRUP XWGTUP SCALUP AQEDUP AQCDUP` and NUP particle lines
/// `IDUP ISTUP MOTHUP1 MOTHUP2 ICOLUP1 ICOLUP2 px py pz E m VTIMUP SPINUP`.
public enum LHEReader {
    public static func read(_ url: URL) throws -> [LHEEvent] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { throw RefoldError.file(url.path, "cannot read") }
        return try parse(text, path: url.path)
    }

    public static func parse(_ text: String, path: String = "<lhe>") throws -> [LHEEvent] {
        var events: [LHEEvent] = []
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var i = 0
        while i < lines.count {
            let line = lines[i].trimmingCharacters(in: .whitespaces)
            guard line.hasPrefix("<event") else { i += 1; continue }
            let start = i + 1
            i += 1
            // Header: skip blank lines.
            while i < lines.count, lines[i].trimmingCharacters(in: .whitespaces).isEmpty { i += 1 }
            guard i < lines.count else { throw RefoldError.file(path, line: start, "unterminated <event>") }
            let header = lines[i].split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard header.count >= 6, let nup = Int(header[0]), nup > 0, let weight = Double(header[2]) else {
                throw RefoldError.file(path, line: i + 1, "event header: expected 'NUP IDPRUP XWGTUP SCALUP AQEDUP AQCDUP', got '\(lines[i])'")
            }
            var particles: [LHEParticle] = []
            for k in 0..<nup {
                let n = i + 1 + k
                guard n < lines.count else { throw RefoldError.file(path, line: n, "expected \(nup) particle lines, file ended after \(k)") }
                let f = lines[n].split(whereSeparator: { $0 == " " || $0 == "\t" })
                if f.first.map({ $0.hasPrefix("<") }) == true {
                    throw RefoldError.file(path, line: n + 1, "expected \(nup) particle lines, got \(k) before '\(lines[n])'")
                }
                guard f.count >= 11, let id = Int(f[0]), let status = Int(f[1]) else {
                    throw RefoldError.file(path, line: n + 1, "particle line: expected 13 fields 'IDUP ISTUP MOTHUP1 MOTHUP2 ICOLUP1 ICOLUP2 px py pz E m VTIMUP SPINUP', got \(f.count): '\(lines[n])'")
                }
                let numbers = f[6..<11].map { Double($0.replacingOccurrences(of: "D", with: "E")) }
                guard numbers.allSatisfy({ $0 != nil && $0!.isFinite }) else {
                    throw RefoldError.file(path, line: n + 1, "particle line: px py pz E m must be numbers, got '\(f[6..<11].joined(separator: " "))'")
                }
                let v = numbers.map { $0! }
                particles.append(LHEParticle(pdgID: id, status: status, momentum: FourMomentum(e: v[3], px: v[0], py: v[1], pz: v[2]), mass: v[4]))
            }
            i += 1 + nup
            events.append(LHEEvent(weight: weight, particles: particles))
        }
        return events
    }

    /// The ZW parton level (ColliderColumns.parton) from LHE events: the final-state l- (PDG 11 or 13),
    /// l+ (-11 or -13) and the two quarks (|PDG| 1-5), quarks ordered by pT; weights from XWGTUP.
    public static func zwPartonLevel(_ events: [LHEEvent], path: String = "<lhe>") throws -> (block: EventSample.Block, weights: [Double]) {
        var values: [Double] = [], weights: [Double] = []
        for (n, event) in events.enumerated() {
            let fs = event.finalState
            let lMinus = fs.filter { $0.pdgID == 11 || $0.pdgID == 13 }
            let lPlus = fs.filter { $0.pdgID == -11 || $0.pdgID == -13 }
            let quarks = fs.filter { (1...5).contains(abs($0.pdgID)) }.sorted { $0.momentum.pT > $1.momentum.pT }
            guard lMinus.count == 1, lPlus.count == 1, quarks.count == 2 else {
                throw RefoldError.file(path, "event \(n + 1): expected one l-, one l+ and two quarks in the final state, got PDG ids \(fs.map(\.pdgID))")
            }
            for p in [lMinus[0], lPlus[0], quarks[0], quarks[1]] { values += [p.momentum.pT, p.momentum.eta, p.momentum.phi] }
            weights.append(event.weight)
        }
        return (EventSample.Block(columns: ColliderColumns.parton, rows: events.count, values: values), weights)
    }
}
