import Foundation
import Config
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
        var root = try TOMLReader.parse(text, file: path)
        var card = DetectorCard()
        let any = -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude
        for (name, keyPath) in [("electron", \DetectorCard.electron), ("muon", \DetectorCard.muon)] {
            guard var table = try root.optionalTable(name) else { continue }
            var l = card[keyPath: keyPath]
            if let v = try table.optionalDoubles("eta_edges", in: any) { l.etaEdges = v }
            if let v = try table.optionalDoubles("resolution_a", in: any) { l.resolutionA = v }
            if let v = try table.optionalDoubles("resolution_b", in: any) { l.resolutionB = v }
            if let v = try table.optionalDoubles("efficiency", in: any) { l.efficiency = v }
            if let v = try table.optionalDouble("minimum_pT", in: any) { l.minimumPT = v }
            if let v = try table.optionalDouble("mass", in: any) { l.mass = v }
            if let v = try table.optionalDouble("photon_log", in: any) { l.photonRadiation.collinearLog = v }
            if let v = try table.optionalDouble("photon_minimum_fraction", in: any) { l.photonRadiation.minimumFraction = v }
            try table.finish()
            card[keyPath: keyPath] = l
        }
        if var calo = try root.optionalTable("calorimeter") {
            let etaMax = try calo.optionalDoubles("eta_max", in: any) ?? card.calorimeter.map(\.etaMax)
            let c = try calo.optionalDoubles("constant", in: any) ?? card.calorimeter.map(\.constant)
            let s = try calo.optionalDoubles("stochastic", in: any) ?? card.calorimeter.map(\.stochastic)
            let n = try calo.optionalDoubles("noise", in: any) ?? card.calorimeter.map(\.noise)
            try calo.finish()
            guard c.count == etaMax.count, s.count == etaMax.count, n.count == etaMax.count else {
                throw calo.error("eta_max", "expected \(etaMax.count) entries in constant, stochastic, noise (one per eta_max), got \(c.count), \(s.count), \(n.count)")
            }
            card.calorimeter = etaMax.indices.map { CalorimeterRegion(etaMax: etaMax[$0], constant: c[$0], stochastic: s[$0], noise: n[$0]) }
        }
        if var jet = try root.optionalTable("jet") {
            let keys: [(String, WritableKeyPath<DetectorCard, Double>)] = [
                ("energy_scale_offset", \.jetEnergyScaleOffset), ("energy_scale_slope", \.jetEnergyScaleSlope),
                ("eta_sigma", \.jetEtaSigma), ("phi_sigma", \.jetPhiSigma), ("mass_mean", \.jetMassMean),
                ("mass_shape", \.jetMassShape), ("radius", \.jetRadius), ("minimum_pT", \.jetMinimumPT),
                ("maximum_eta", \.jetMaximumEta), ("match_radius", \.matchRadius),
            ]
            for (key, keyPath) in keys { if let v = try jet.optionalDouble(key, in: any) { card[keyPath: keyPath] = v } }
            let response: [(String, WritableKeyPath<DetectorCard.JetResponse, Double>)] = [
                ("out_of_cone_fraction", \.outOfConeFraction), ("out_of_cone_offset", \.outOfConeOffset),
                ("hadronisation_sigma", \.hadronisationSigma), ("hadronisation_tail_dof", \.hadronisationTailDOF),
            ]
            for (key, keyPath) in response { if let v = try jet.optionalDouble(key, in: any) { card.jetResponse[keyPath: keyPath] = v } }
            if let v = try jet.optionalBool("apply_energy_scale") { card.applyEnergyScale = v }
            if let v = try jet.optionalInt("maximum_jets", in: Int.min...Int.max) { card.maximumJets = v }
            try jet.finish()
        }
        if var radiation = try root.optionalTable("quark_radiation") {
            if let v = try radiation.optionalDouble("sudakov_coefficient", in: any) { card.quarkRadiation.sudakovCoefficient = v }
            if let v = try radiation.optionalDouble("minimum_kT", in: any) { card.quarkRadiation.minimumKT = v }
            if let v = try radiation.optionalInt("maximum_emissions", in: Int.min...Int.max) { card.quarkRadiation.maximumEmissions = v }
            try radiation.finish()
        }
        try root.finish()
        do { try card.validate() } catch let error as RefoldError { throw RefoldError.file(path, error.message) }
        return card
    }
}
