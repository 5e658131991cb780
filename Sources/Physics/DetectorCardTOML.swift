import Foundation
import TOMLKit
import Tensor

extension DetectorCard {
    /// Reads a card: keys absent keep their ATLAS-like default; an unknown key or a wrong type
    /// throws an error naming the file and the key. Layout: see Toys/detector-atlas.toml.
    public static func load(from url: URL) throws -> DetectorCard {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw RefoldError.file(url.path, "cannot read the detector card")
        }
        return try parse(text, path: url.path)
    }

    public static func parse(_ text: String, path: String = "<card>") throws -> DetectorCard {
        let root: TOMLTable
        try TOMLGuard.checkTableHeaders(text, path: path)
        do { root = try TOMLTable(string: text) } catch let error as TOMLParseError {
            throw RefoldError.file(path, line: error.source.begin.line, error.description)
        }
        var card = DetectorCard()
        let reader = CardReader(path: path)
        try reader.allow(root, keys: ["electron", "muon", "calorimeter", "jet"], at: "")
        for (name, keyPath) in [("electron", \DetectorCard.electron), ("muon", \DetectorCard.muon)] {
            guard let table = try reader.table(root, name, at: "") else { continue }
            try reader.allow(table, keys: ["eta_edges", "resolution_a", "resolution_b", "efficiency", "minimum_pT", "mass"], at: name)
            var l = card[keyPath: keyPath]
            if let v = try reader.numbers(table, "eta_edges", at: name) { l.etaEdges = v }
            if let v = try reader.numbers(table, "resolution_a", at: name) { l.resolutionA = v }
            if let v = try reader.numbers(table, "resolution_b", at: name) { l.resolutionB = v }
            if let v = try reader.numbers(table, "efficiency", at: name) { l.efficiency = v }
            if let v = try reader.number(table, "minimum_pT", at: name) { l.minimumPT = v }
            if let v = try reader.number(table, "mass", at: name) { l.mass = v }
            card[keyPath: keyPath] = l
        }
        if let calo = try reader.table(root, "calorimeter", at: "") {
            try reader.allow(calo, keys: ["eta_max", "constant", "stochastic", "noise"], at: "calorimeter")
            let etaMax = try reader.numbers(calo, "eta_max", at: "calorimeter") ?? card.calorimeter.map(\.etaMax)
            let c = try reader.numbers(calo, "constant", at: "calorimeter") ?? card.calorimeter.map(\.constant)
            let s = try reader.numbers(calo, "stochastic", at: "calorimeter") ?? card.calorimeter.map(\.stochastic)
            let n = try reader.numbers(calo, "noise", at: "calorimeter") ?? card.calorimeter.map(\.noise)
            guard c.count == etaMax.count, s.count == etaMax.count, n.count == etaMax.count else {
                throw RefoldError.file(path, "calorimeter: expected \(etaMax.count) entries in constant, stochastic, noise (one per eta_max), got \(c.count), \(s.count), \(n.count)")
            }
            card.calorimeter = etaMax.indices.map { CalorimeterRegion(etaMax: etaMax[$0], constant: c[$0], stochastic: s[$0], noise: n[$0]) }
        }
        if let jet = try reader.table(root, "jet", at: "") {
            let keys: [(String, WritableKeyPath<DetectorCard, Double>)] = [
                ("energy_scale_offset", \.jetEnergyScaleOffset), ("energy_scale_slope", \.jetEnergyScaleSlope),
                ("eta_sigma", \.jetEtaSigma), ("phi_sigma", \.jetPhiSigma), ("mass_mean", \.jetMassMean),
                ("mass_shape", \.jetMassShape), ("radius", \.jetRadius), ("minimum_pT", \.jetMinimumPT),
                ("maximum_eta", \.jetMaximumEta), ("match_radius", \.matchRadius),
            ]
            try reader.allow(jet, keys: keys.map(\.0) + ["apply_energy_scale", "maximum_jets"], at: "jet")
            for (key, keyPath) in keys { if let v = try reader.number(jet, key, at: "jet") { card[keyPath: keyPath] = v } }
            if let v = jet["apply_energy_scale"] {
                guard let b = v.bool else { throw reader.wrongType("jet.apply_energy_scale", "a boolean", v) }
                card.applyEnergyScale = b
            }
            if let v = jet["maximum_jets"] {
                guard let i = v.int else { throw reader.wrongType("jet.maximum_jets", "an integer", v) }
                card.maximumJets = i
            }
        }
        do { try card.validate() } catch let error as RefoldError { throw RefoldError.file(path, error.message) }
        return card
    }
}

/// Typed access to a TOML table with errors naming the file and the dotted key.
private struct CardReader {
    let path: String

    func wrongType(_ key: String, _ expected: String, _ value: TOMLValueConvertible) -> RefoldError {
        RefoldError.file(path, "key '\(key)': expected \(expected), got \(value.type) \(value.debugDescription)")
    }

    func allow(_ table: TOMLTable, keys: [String], at prefix: String) throws {
        for key in table.keys where !keys.contains(key) {
            throw RefoldError.file(path, "unknown key '\(prefix.isEmpty ? key : prefix + "." + key)': expected one of \(keys)")
        }
    }

    func table(_ table: TOMLTable, _ key: String, at prefix: String) throws -> TOMLTable? {
        guard let v = table[key] else { return nil }
        guard let t = v.table else { throw wrongType(key, "a table", v) }
        return t
    }

    func number(_ table: TOMLTable, _ key: String, at prefix: String) throws -> Double? {
        guard let v = table[key] else { return nil }
        if let d = v.double { return d }
        if let i = v.int { return Double(i) }
        throw wrongType("\(prefix).\(key)", "a number", v)
    }

    func numbers(_ table: TOMLTable, _ key: String, at prefix: String) throws -> [Double]? {
        guard let v = table[key] else { return nil }
        guard let array = v.array else { throw wrongType("\(prefix).\(key)", "an array of numbers", v) }
        return try array.map { element -> Double in
            if let d = element.double { return d }
            if let i = element.int { return Double(i) }
            throw wrongType("\(prefix).\(key)", "an array of numbers", element)
        }
    }
}
