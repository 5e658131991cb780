import Foundation
import Physics
import Tensor
import TestSupport
import XCTest

/// The veto-algorithm shower against its exact Sudakov factor and kernels (GSL quadrature),
/// momentum conservation, the jet observables, and the parameter interface.
final class PartonShowerTests: XCTestCase {
    /// Three parameter points: QCD with a fixed coupling (quark), modified gluon kernels with
    /// nonzero F and C terms and a running coupling (gluon), and a negative C_qq with running
    /// coupling (quark).
    static var points: [(name: String, kind: PartonKind, energy: Double, parameters: ShowerParameters)] {
        var qcdFixed = ShowerParameters()
        qcdFixed.running = .fixed; qcdFixed.alphaS = 0.2
        var gluon = ShowerParameters()
        gluon.dgg = 0.8; gluon.fgg = 1.5; gluon.cgg = 2; gluon.fqq = 1.2; gluon.cgq = 1.5; gluon.colourA = 3.5
        var quark = ShowerParameters()
        quark.dqq = 1.2; quark.fqq = 0.7; quark.cqq = -0.5; quark.cutoff = 2
        return [("qcd-fixed-quark", .quark, 100, qcdFixed), ("modified-running-gluon", .gluon, 300, gluon),
                ("negative-C-running-quark", .quark, 50, quark)]
    }

    /// First emissions only (the shower's own loop stopped after one splitting).
    static func firstEmissions(_ shower: PartonShower, _ kind: PartonKind, energy: Double, count: Int, seed: UInt64) -> [ShowerEmission?] {
        let rng = RNGStream(seed: seed).child("first-emission")
        return (0..<count).map { _ in shower.shower(kind, energy: energy, rng, maximumEmissions: 1).emissions.first }
    }

    // MARK: Exactness of the veto algorithm

    /// P(first emission below t) = Delta(E^2, t) at five scales per point (t_0 to E^2/4,
    /// log-spaced), N = 100k showers per point: binomial sigma = sqrt(Delta (1 - Delta) / N)
    /// <= 0.0016; each of the 15 comparisons within 4 sigma. Measured largest |pull|: see the
    /// printed lines (about 2 on seeds 181-183). Power: the Sudakov factor of the same
    /// parameters with C_F or C_A raised by 5 % is more than 4 sigma away at some scale.
    func testNoEmissionProbabilityIsTheSudakovFactor() throws {
        let n = 100_000
        for (index, point) in Self.points.enumerated() {
            let shower = try PartonShower(point.parameters)
            let emissions = Self.firstEmissions(shower, point.kind, energy: point.energy, count: n, seed: 181 + UInt64(index))
            let q2 = 4 * point.energy * point.energy, tMax = q2 / 4, t0 = point.parameters.cutoff
            var largestPull = 0.0, largestShiftedPull = 0.0
            var shifted = point.parameters
            if point.kind == .quark { shifted.colourF *= 1.05 } else { shifted.colourA *= 1.05 }
            let shiftedShower = try PartonShower(shifted)
            for k in 0..<5 {
                let t = t0 * pow(tMax / 4 / t0, Double(k) / 4)
                let below = Double(emissions.filter { ($0?.t ?? 0) < t }.count) / Double(n)
                let delta = shower.noEmissionProbability(point.kind, dipoleMass2: q2, from: tMax, to: t)
                let sigma = (delta * (1 - delta) / Double(n)).squareRoot()
                let pull = (below - delta) / sigma
                largestPull = max(largestPull, abs(pull))
                largestShiftedPull = max(largestShiftedPull,
                                         abs(below - shiftedShower.noEmissionProbability(point.kind, dipoleMass2: q2, from: tMax, to: t)) / sigma)
                XCTAssertLessThan(abs(pull), 4, "\(point.name): t = \(t): observed \(below), Sudakov \(delta), sigma \(sigma)")
            }
            print("[sudakov] \(point.name): N = \(n), largest |pull| \(String(format: "%.2f", largestPull)), with the colour factor +5 %: \(String(format: "%.1f", largestShiftedPull))")
            XCTAssertGreaterThan(largestShiftedPull, 4, "\(point.name): the test cannot tell a 5 % colour factor change")
        }
    }

    /// z of first emissions follows (1 - y) K(z, y) at their t: the probability integral
    /// transform u = F(z | t) (GSL quadrature of the kernel) is uniform. N = 20k per point,
    /// 20 bins, chi2 p-value > 1e-3 (measured p printed).
    func testFirstEmissionMomentumFractionFollowsTheKernel() throws {
        for (index, point) in Self.points.enumerated() {
            let shower = try PartonShower(point.parameters)
            let emissions = Self.firstEmissions(shower, point.kind, energy: point.energy, count: 20_000, seed: 191 + UInt64(index)).compactMap { $0 }
            let q2 = 4 * point.energy * point.energy
            var counts = [Double](repeating: 0, count: 20)
            for e in emissions {
                let u = shower.zIntegral(point.kind, t: e.t, dipoleMass2: q2, to: e.z, relative: 1e-8)
                    / shower.zIntegral(point.kind, t: e.t, dipoleMass2: q2, relative: 1e-8)
                counts[min(19, Int(u * 20))] += 1
            }
            let expected = [Double](repeating: Double(emissions.count) / 20, count: 20)
            let test = chiSquare(observed: counts, expected: expected)
            print("[z] \(point.name): \(emissions.count) emissions, chi2 \(String(format: "%.1f", test.chi2)) / \(test.dof), p = \(String(format: "%.3f", test.p))")
            XCTAssertGreaterThan(test.p, 1e-3, "\(point.name): chi2 \(test.chi2) / \(test.dof)")
        }
    }

    // MARK: Kinematics

    /// 400 quark and 400 gluon jets at 500 GeV (running coupling, full showers): jet + recoiler =
    /// (2E, 0, 0, 0) to 1e-9 relative, every constituent massless (|m^2| <= 1e-9 E_i E) with E_i > 0,
    /// emissions ordered in t, all above t_0, and the ordering variable is the kT^2 of the map.
    func testMomentumIsConservedAndPartonsStayMassless() throws {
        let energy = 500.0
        let shower = try PartonShower(ShowerParameters())
        let rng = RNGStream(seed: 201)
        var largestMomentumError = 0.0, largestMass2 = 0.0, partons = 0
        for kind in PartonKind.allCases {
            for _ in 0..<400 {
                let jet = shower.shower(kind, energy: energy, rng)
                let total = jet.total
                for (a, b) in [(total.e, 2 * energy), (total.px, 0), (total.py, 0), (total.pz, 0)] {
                    largestMomentumError = max(largestMomentumError, abs(a - b) / (2 * energy))
                }
                for c in jet.constituents + [jet.recoiler] {
                    XCTAssertGreaterThan(c.e, 0)
                    largestMass2 = max(largestMass2, abs(c.mass2) / (c.e * energy))
                }
                partons += jet.constituents.count
                XCTAssertEqual(jet.constituents.count, jet.emissions.count + 1)
                XCTAssertEqual(jet.emissions.map(\.t), jet.emissions.map(\.t).sorted(by: >))
                XCTAssertTrue(jet.emissions.allSatisfy { $0.t >= shower.parameters.cutoff && $0.y > 0 && $0.y <= 1 })
            }
        }
        print("[conservation] 800 jets, \(partons) partons: largest relative momentum error \(largestMomentumError), largest |m^2| / (E_i E) \(largestMass2)")
        XCTAssertLessThan(largestMomentumError, 1e-9)
        XCTAssertLessThan(largestMass2, 1e-9)
    }

    /// One splitting by the map (emitter off the axis) reproduces its invariants: y and z from the
    /// dot products (the Catani-Seymour definitions) to 1e-12, massless daughters, conserved momentum.
    func testSplittingMapHasTheDipoleInvariants() {
        let emitter = FourMomentum(e: 80, px: 10, py: -20, pz: (6400.0 - 500).squareRoot())
        let spectator = FourMomentum(e: 120, px: 0, py: 0, pz: -120)
        let q2 = 2 * emitter.dot(spectator)
        for (z, y, phi) in [(0.3, 0.01, 0.4), (0.9, 0.5, 2.0), (0.5, 0.999, -1.0)] {
            let t = q2 * y * z * (1 - z)
            let (pi, pj, pk) = PartonShower.split(emitter, spectator: spectator, t: t, z: z, y: y, phi: phi)
            let ij = pi.dot(pj), ik = pi.dot(pk), jk = pj.dot(pk)
            assertClose(ij / (ij + ik + jk), y, rel: 1e-12)
            assertClose(ik / (ik + jk), z, rel: 1e-12)
            for p in [pi, pj, pk] { XCTAssertLessThan(abs(p.mass2), 1e-10 * q2) }
            let sum = pi + pj + pk, before = emitter + spectator
            for (a, b) in [(sum.e, before.e), (sum.px, before.px), (sum.py, before.py), (sum.pz, before.pz)] { assertClose(a, b, rel: 0, abs: 1e-12 * before.e) }
        }
    }

    /// Same seed, same jets; another seed, other jets.
    func testShowerIsDeterministic() throws {
        let shower = try PartonShower(ShowerParameters())
        let a = (0..<20).map { _ in shower.shower(.gluon, energy: 200, RNGStream(seed: 7)).constituents }
        let b = shower.shower(.gluon, energy: 200, RNGStream(seed: 7)).constituents
        let c = shower.shower(.gluon, energy: 200, RNGStream(seed: 8)).constituents
        XCTAssertTrue(a.allSatisfy { $0 == b })
        XCTAssertNotEqual(b, c)
    }

    // MARK: Observables

    /// Mean observables of 3000 gluon jets at 200 GeV move with more gluon radiation: C_A 3 -> 4
    /// and D_gg 1 -> 1.3 each raise multiplicity, mass and width and lower p_T^D, by more than
    /// 5 standard errors of the difference (measured significances printed).
    func testObservablesRespondToGluonRadiation() throws {
        func means(_ parameters: ShowerParameters, seed: UInt64) throws -> (mean: [Double], variance: [Double]) {
            let shower = try PartonShower(parameters)
            let rng = RNGStream(seed: seed)
            var sum = [Double](repeating: 0, count: 5), sum2 = sum
            let n = 3000
            for _ in 0..<n {
                let values = JetShapes(shower.shower(.gluon, energy: 200, rng).constituents).values
                for k in 0..<5 { sum[k] += values[k]; sum2[k] += values[k] * values[k] }
            }
            let mean = sum.map { $0 / Double(n) }
            return (mean, (0..<5).map { (sum2[$0] / Double(n) - mean[$0] * mean[$0]) / Double(n) })
        }
        let reference = try means(ShowerParameters(), seed: 211)
        var moreCA = ShowerParameters(); moreCA.colourA = 4
        var moreD = ShowerParameters(); moreD.dgg = 1.3
        for (name, parameters, seed) in [("C_A = 4", moreCA, UInt64(212)), ("D_gg = 1.3", moreD, 213)] {
            let changed = try means(parameters, seed: seed)
            let significance = (0..<5).map { (changed.mean[$0] - reference.mean[$0]) / (changed.variance[$0] + reference.variance[$0]).squareRoot() }
            print("[observables] \(name) vs QCD: " + (0..<5).map { String(format: "%@ %.3f -> %.3f (%.1f sigma)", JetShapes.names[$0], reference.mean[$0], changed.mean[$0], significance[$0]) }.joined(separator: ", "))
            for k in 0..<3 { XCTAssertGreaterThan(significance[k], 5, "\(name): \(JetShapes.names[k])") }
            XCTAssertLessThan(significance[3], -5, "\(name): pT_D")
        }
    }

    /// Hand-made jets: two partons at a known angle give the mass 2 sqrt(E1 E2) sin(theta/2), the
    /// energy-weighted angle, p_T^D and z_g = E_soft / E; a soft third parton below z_cut is
    /// groomed away.
    func testJetShapesOfHandMadeJets() {
        let theta = 0.2
        let hard = FourMomentum(e: 80, px: 0, py: 0, pz: 80)
        let soft = FourMomentum(e: 20, px: 20 * sin(theta), py: 0, pz: 20 * cos(theta))
        let shapes = JetShapes([hard, soft])
        assertClose(shapes.mass, 2 * (80.0 * 20).squareRoot() * sin(theta / 2), rel: 1e-12)
        assertClose(shapes.pTD, (80.0 * 80 + 20 * 20).squareRoot() / 100, rel: 1e-12)
        assertClose(shapes.zg, 0.2, rel: 1e-12)
        XCTAssertEqual(shapes.multiplicity, 2)
        // The axis is the summed momentum: the angles to it are theta_h and theta - theta_h.
        let axisAngle = atan2(20 * sin(theta), 80 + 20 * cos(theta))
        assertClose(shapes.width, (80 * axisAngle + 20 * (theta - axisAngle)) / 100, rel: 1e-12)
        // A wide soft parton (5 % of the energy) fails z_cut; the hard pair inside then gives z_g.
        let wide = FourMomentum(e: 5.26, px: 0, py: 5.26 * sin(1.0), pz: 5.26 * cos(1.0))
        assertClose(JetShapes([hard, soft, wide]).zg, 0.2, rel: 1e-12)
        XCTAssertEqual(JetShapes([hard]).zg, 0)
    }

    // MARK: Samples

    /// A prior sample of 300 jets (C_A in [2, 4], C_qq in [-0.5, 0.5], quark fraction 0.4): the
    /// files have the documented shapes, padding is zero, counts match, drawn columns stay in their
    /// ranges and the rest equal the fixed values; the quark fraction is 0.4 within 4 binomial
    /// sigma (0.113); the same seed writes identical arrays. A box with an invalid corner is refused.
    func testPriorSampleFiles() throws {
        var fixed = ShowerParameters(); fixed.dgg = 0.9
        let prior = try ShowerPrior(["C_A=2:4", "C_qq=-0.5:0.5"])
        let sample = try ShowerSample(jets: 300, energy: 100, initial: .mixed(quarkFraction: 0.4), fixed: fixed, prior: prior, seed: 221)
        let folder = temporaryFolder()
        try sample.write(to: folder, command: ["test"])
        let constituents = try NPYArray.read(folder.appendingPathComponent("constituents.npy"))
        let counts = try NPYArray.read(folder.appendingPathComponent("counts.npy")).values.map { Int($0) }
        let parameters = try NPYArray.read(folder.appendingPathComponent("parameters.npy"))
        let quark = try NPYArray.read(folder.appendingPathComponent("quark.npy")).values
        let k = sample.maximumConstituents, p = ShowerParameters.fieldNames.count
        XCTAssertEqual(constituents.shape, [300, k, 4]); XCTAssertEqual(parameters.shape, [300, p]); XCTAssertEqual(quark.count, 300)
        XCTAssertEqual(counts, sample.constituents.map(\.count))
        for i in 0..<300 {
            let row = constituents.values[(i * k * 4)..<((i + 1) * k * 4)]
            XCTAssertTrue(row.prefix(4 * counts[i]).enumerated().allSatisfy { $0.offset % 4 != 0 || $0.element > 0 }, "jet \(i): a constituent without energy")
            XCTAssertTrue(row.dropFirst(4 * counts[i]).allSatisfy { $0 == 0 }, "jet \(i): nonzero padding")
            let values = Array(parameters.values[(i * p)..<((i + 1) * p)])
            for (c, name) in ShowerParameters.fieldNames.enumerated() {
                switch name {
                case "C_A": XCTAssertTrue((2...4).contains(values[c]))
                case "C_qq": XCTAssertTrue((-0.5...0.5).contains(values[c]))
                default: XCTAssertEqual(values[c], fixed.values[c], name)
                }
            }
        }
        XCTAssertEqual(quark.reduce(0, +) / 300, 0.4, accuracy: 4 * (0.4 * 0.6 / 300).squareRoot())
        let again = try ShowerSample(jets: 300, energy: 100, initial: .mixed(quarkFraction: 0.4), fixed: fixed, prior: prior, seed: 221)
        XCTAssertEqual(again.constituents, sample.constituents)
        XCTAssertThrowsError(try ShowerSample(jets: 10, energy: 100, initial: .gluon, fixed: fixed, prior: ShowerPrior(["C_qq=-1.5:0"]), seed: 1))
        XCTAssertThrowsError(try ShowerPrior(["running=0:1"]))
    }

    // MARK: Parameters

    /// Unknown names list the valid ones; negative kernels, a non-integer n_f and a cutoff below
    /// the Landau pole are refused; assignments round-trip through the field table.
    func testParametersParseAndValidate() throws {
        XCTAssertThrowsError(try ShowerParameters().setting(["C_X=3"])) { error in
            XCTAssertTrue("\(error)".contains("C_A, C_F, T_R, n_f, D_qq"), "\(error)")
        }
        XCTAssertThrowsError(try ShowerParameters().setting(["C_A"]))
        XCTAssertThrowsError(try ShowerParameters().setting(["running=2"]))
        let set = try ShowerParameters().setting(["C_A=2.5", "D_gg=0.7", "running=0", "t_0=4"])
        XCTAssertEqual(set.colourA, 2.5); XCTAssertEqual(set.dgg, 0.7); XCTAssertEqual(set.running, .fixed); XCTAssertEqual(set.cutoff, 4)
        XCTAssertEqual(set.values.count, ShowerParameters.fieldNames.count)
        for bad in [["C_qq=-1.5"], ["C_gq=-2.5"], ["D_gg=-0.1"], ["n_f=4.5"], ["t_0=0.001"], ["C_A=0"]] {
            XCTAssertThrowsError(try ShowerParameters().setting(bad).validated(), "\(bad)")
        }
        XCTAssertNoThrow(try ShowerParameters().setting(["C_qq=-1", "C_gq=-2", "running=0", "t_0=0.001"]).validated())
    }
}
