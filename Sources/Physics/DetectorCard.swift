import Foundation
import Tensor

/// Every number of the parametrised fast detector, ATLAS-like defaults (Delphes ATLAS card,
/// DESIGN.md "Reference numbers"). Loadable from TOML: `DetectorCard.load(from:)`.
public struct DetectorCard: Equatable {
    /// Lepton response in |eta| regions: region i covers (etaEdges[i-1], etaEdges[i]].
    /// Relative pT resolution sigma/pT = sqrt(a^2 + pT^2 b^2); efficiency per region; zero
    /// efficiency beyond the last edge or below minimumPT.
    public struct LeptonResponse: Equatable {
        public var etaEdges: [Double]
        public var resolutionA: [Double]
        public var resolutionB: [Double]
        public var efficiency: [Double]
        public var minimumPT: Double
        /// Mass given to the reconstructed lepton (GeV).
        public var mass: Double
        /// Photon final-state radiation lost from the lepton (off by default).
        public var photonRadiation = PhotonRadiation()

        /// The |eta| region index, or nil outside the acceptance.
        @inlinable public func region(_ absEta: Double) -> Int? {
            for (i, edge) in etaEdges.enumerated() where absEta <= edge { return i }
            return nil
        }

        /// The relative pT resolution sigma/pT = sqrt(a^2 + pT^2 b^2) in |eta| region i.
        @inlinable public func relativeResolution(pT: Double, region i: Int) -> Double {
            let a = resolutionA[i], b = resolutionB[i]
            return (a * a + pT * pT * b * b).squareRoot()
        }
    }

    /// Calorimeter region |eta| <= etaMax: sigma_E = sqrt((constant E)^2 + stochastic^2 E + noise^2).
    public struct CalorimeterRegion: Equatable {
        public var etaMax: Double, constant: Double, stochastic: Double, noise: Double
        public init(etaMax: Double, constant: Double, stochastic: Double, noise: Double) {
            self.etaMax = etaMax; self.constant = constant; self.stochastic = stochastic; self.noise = noise
        }
    }

    public var electron = LeptonResponse(etaEdges: [0.5, 1.5, 2.5], resolutionA: [0.03, 0.05, 0.15],
                                         resolutionB: [1.3e-3, 1.7e-3, 3.1e-3], efficiency: [0.95, 0.95, 0.85],
                                         minimumPT: 10, mass: 0.000511)
    public var muon = LeptonResponse(etaEdges: [0.5, 1.5, 2.7], resolutionA: [0.01, 0.015, 0.025],
                                     resolutionB: [1.0e-4, 1.5e-4, 3.5e-4], efficiency: [0.95, 0.95, 0.85],
                                     minimumPT: 10, mass: 0.10566)
    public var calorimeter = [CalorimeterRegion(etaMax: 1.7, constant: 0.0302, stochastic: 0.5205, noise: 1.59),
                              CalorimeterRegion(etaMax: 3.2, constant: 0.05, stochastic: 0.706, noise: 0)]
    /// Jet energy scale sqrt((offset - slope |eta|)^2 / pT + 1) (Delphes ATLAS); off if !applyEnergyScale.
    public var jetEnergyScaleOffset = 3.0, jetEnergyScaleSlope = 0.2
    public var applyEnergyScale = true
    /// Gaussian smearing of the jet axis.
    public var jetEtaSigma = 0.03, jetPhiSigma = 0.03
    /// Jet mass m = pT x, x ~ Gamma(shape, mean / shape): the stand-in for shower and hadronisation.
    public var jetMassMean = 0.12, jetMassShape = 3.0
    /// anti-kT radius for clustering partons into jets.
    public var jetRadius = 0.6
    /// Jet selection (thesis eq. 5.11) and the number of jets kept in the detector vector.
    public var jetMinimumPT = 25.0, jetMaximumEta = 2.5
    public var maximumJets = 4
    /// Jets are matched to partons within this Delta R (no-ISR samples).
    public var matchRadius = 0.4
    /// Gluon radiation off the W-decay quarks before clustering (off by default).
    public var quarkRadiation = QuarkRadiation()
    /// Parton-to-jet response: out-of-cone loss and hadronisation smearing (off by default).
    public var jetResponse = JetResponse()

    public init() {}

    /// The ATLAS-like defaults.
    public static let atlas = DetectorCard()

    /// sigma_E / GeV in the calorimeter region of |eta| (the last region beyond its edge).
    @inlinable public func jetEnergyResolution(energy e: Double, absEta: Double) -> Double {
        let r = calorimeter.first { absEta <= $0.etaMax } ?? calorimeter[calorimeter.count - 1]
        return (r.constant * r.constant * e * e + r.stochastic * r.stochastic * e + r.noise * r.noise).squareRoot()
    }

    /// The multiplicative jet energy scale at (pT, |eta|).
    @inlinable public func jetEnergyScale(pT: Double, absEta: Double) -> Double {
        guard applyEnergyScale else { return 1 }
        let a = jetEnergyScaleOffset - jetEnergyScaleSlope * absEta
        return (a * a / pT + 1).squareRoot()
    }

    /// The inverse of the energy scale: the pT_0 that the scale maps to pT = s(pT_0) pT_0 =
    /// sqrt(a^2 pT_0 + pT_0^2), that is pT_0 = 2 pT^2 / (sqrt(a^4 + 4 pT^2) + a^2) (the form
    /// without cancellation), and the derivative dpT/dpT_0 = (a^2 + 2 pT_0) / (2 pT) (1 if the
    /// scale is off).
    @inlinable public func jetPTBeforeEnergyScale(_ pT: Double, absEta: Double) -> (pT: Double, derivative: Double) {
        guard applyEnergyScale else { return (pT, 1) }
        let a = jetEnergyScaleOffset - jetEnergyScaleSlope * absEta, a2 = a * a
        let pT0 = 2 * pT * pT / ((a2 * a2 + 4 * pT * pT).squareRoot() + a2)
        return (pT0, (a2 + 2 * pT0) / (2 * pT))
    }

    /// Checks sizes and ranges; throws naming the field.
    public func validate() throws {
        for (name, l) in [("electron", electron), ("muon", muon)] {
            let n = l.etaEdges.count
            for (field, values) in [("resolution_a", l.resolutionA), ("resolution_b", l.resolutionB), ("efficiency", l.efficiency)]
            where values.count != n {
                throw RefoldError.value("\(name).\(field)", expected: "\(n) entries (one per eta_edges region)", actual: values.count)
            }
            if let bad = l.efficiency.first(where: { !(0...1).contains($0) }) {
                throw RefoldError.value("\(name).efficiency", expected: "values in [0, 1]", actual: bad)
            }
        }
        guard !calorimeter.isEmpty else { throw RefoldError.value("calorimeter", expected: "at least one region", actual: 0) }
        guard jetRadius > 0 else { throw RefoldError.value("jet.radius", expected: "> 0", actual: jetRadius) }
        guard maximumJets >= 2 else { throw RefoldError.value("jet.maximum_jets", expected: ">= 2", actual: maximumJets) }
        guard jetMassShape > 0, jetMassMean >= 0 else {
            throw RefoldError.value("jet.mass_shape, jet.mass_mean", expected: "> 0 and >= 0", actual: (jetMassShape, jetMassMean))
        }
        try validateRealism()
    }
}
