import Foundation
@testable import Physics
import Tensor
import TestSupport
import XCTest

/// `ZWDensity` is normalised, is the density `ZWProduction` draws from, and its coordinates
/// invert the generator's kinematics.
final class ZWDensityTests: XCTestCase {
    /// A W' well inside the ZW threshold region: the window 250 +- 20 x 30 GeV reaches m = 0, so
    /// the rejection m > m_Z + m_W removes a third of it and its normalisation matters.
    static var lightWPrime: ZWParameters {
        var p = ZWParameters()
        p.wPrimeMass = 250; p.wPrimeWidth = 30
        return p
    }

    // MARK: Round trip

    /// Coordinates drawn by the generator -> HardEvent -> coordinates: equal to the draw (with the
    /// W decay of the leading quark) to 1e-9, relative for masses, absolute for y, cosines and
    /// angles (wrapped). 20k events each for zw and the light W'.
    func testCoordinatesOfAGeneratedEventAreTheGeneratedOnes() {
        for (parameters, wPrime, seed) in [(ZWParameters(), false, UInt64(51)), (Self.lightWPrime, true, 52)] {
            let production = ZWProduction(parameters: parameters)
            let rng = RNGStream(seed: seed)
            var flipped = 0
            for _ in 0..<20_000 {
                let drawn = production.draw(wPrime: wPrime, rng)
                let event = HardEvent(drawn, flavour: .muon, isWPrime: wPrime)
                let x = ZWPartonCoordinates(event), expected = drawn.pTOrdered
                if expected != drawn { flipped += 1 }
                for (a, b) in [(x.zMass, expected.zMass), (x.wMass, expected.wMass), (x.mass, expected.mass)] {
                    assertClose(a, b, rel: 1e-9, "seed \(seed)")
                }
                for (a, b) in [(x.rapidity, expected.rapidity), (x.cosTheta, expected.cosTheta),
                               (x.zDecayCos, expected.zDecayCos), (x.wDecayCos, expected.wDecayCos)] {
                    assertClose(a, b, rel: 0, abs: 1e-9, "seed \(seed)")
                }
                for (a, b) in [(x.phi, expected.phi), (x.zDecayPhi, expected.zDecayPhi), (x.wDecayPhi, expected.wDecayPhi)] {
                    XCTAssertLessThan(abs(FourMomentum.wrapPhi(a - b)), 1e-9, "seed \(seed): phi \(a) vs \(b)")
                }
                XCTAssertTrue(x.wDecayQuarkLeads)
            }
            // The drawn quark leads in half of the events: binomial, 5 sigma = 5 x 71.
            XCTAssertEqual(Double(flipped), 10_000, accuracy: 355, "seed \(seed)")
        }
    }

    // MARK: Normalisation

    /// Each factor integrates to 1 by GSL quadrature (relative 1e-8): the two Breit-Wigners, the
    /// W' mass above a threshold inside its window, p(y | m) at three masses (integrated over
    /// [-y_max, y_max], not by the symmetric form the density uses), and the angular shapes.
    /// The sampled threshold spectrum's bins sum to 1 exactly. Its L1 distance to the normalised
    /// continuous spectrum is first order in the bin width h = 0.64 % of Delta (about the sum of
    /// |f'| h^2 / 4 over bins): 0.19 % measured, bound 0.3 %.
    func testFactorsIntegrateToOne() throws {
        let density = try ZWDensity(parameters: Self.lightWPrime, wPrimeFraction: 1)
        let p = density.parameters
        let window = p.massWindow
        assertClose(Quadrature.integrate(p.zMass - window * p.zWidth, p.zMass + window * p.zWidth) { density.zMassDensity($0) }, 1, rel: 1e-8)
        assertClose(Quadrature.integrate(p.wMass - window * p.wWidth, p.wMass + window * p.wWidth) { density.wMassDensity($0) }, 1, rel: 1e-8)
        let s = p.zMass + p.wMass
        let high = p.wPrimeMass + p.wPrimeWindow * p.wPrimeWidth
        assertClose(Quadrature.integrate(s, high) { density.wPrimeMassDensity($0, threshold: s) }, 1, rel: 1e-8)
        assertClose(density.partonicMassCDF(high, threshold: s), 1, rel: 1e-12)
        for m in [180.0, 600, 3_000] {
            let yMax = density.rapidityLimit(mass: m)
            assertClose(Quadrature.integrate(-yMax, yMax) { density.rapidityDensity($0, mass: m) }, 1, rel: 1e-8, "m = \(m)")
        }
        for (a, b) in [(1.0, 0.3), (-1.0, 0), (0.5, -1.2)] {
            assertClose(Quadrature.integrate(-1, 1) { ZWDensity.angularDensity($0, a: a, b: b) }, 1, rel: 1e-12)
        }
        let top = p.maximumMass - s
        assertClose(density.thresholdExcessCDF(top), 1, rel: 1e-12)
        let continuumNorm = Quadrature.integrate(0, top) { ZWProduction.spectrum(s + $0, threshold: s, p) }
        let l1 = Quadrature.integrate(0, top, relative: 1e-6) {
            abs(density.thresholdExcessDensity($0) - ZWProduction.spectrum(s + $0, threshold: s, p) / continuumNorm)
        }
        print("threshold spectrum: L1 distance between the sampled (binned) and the continuous density \(l1)")
        XCTAssertLessThan(l1, 3e-3)
    }

    /// The whole density over its 10 coordinates by VEGAS (GSL), mapped to the unit cube:
    /// standard model (f = 0) and the light W' alone (f = 1), whose threshold rejection is
    /// normalised by the Breit-Wigner CDF; the W decay half-space (quark1 leads) carries the factor
    /// 2. Tolerance 4 sigma of VEGAS' error, once its iterations agree (chi2 tail probability >= 0.01).
    func testDensityIntegratesToOneByVegas() throws {
        for (f, seed) in [(0.0, UInt64(53)), (1.0, 54)] {
            let density = try ZWDensity(parameters: Self.lightWPrime, wPrimeFraction: f)
            let (value, error, chi2) = vegasIntegral(density, seed: seed)
            print(String(format: "VEGAS f = %.0f: integral %.5f +- %.5f, chi2/iteration %.2f", f, value, error, chi2))
            XCTAssertEqual(value, 1, accuracy: 4 * error, "f = \(f), seed \(seed)")
            XCTAssertLessThan(error, 0.01, "f = \(f)")
        }
    }

    /// exp(log p) on the unit cube times the Jacobian of the cube -> coordinates map.
    private static func unitCubeIntegrand(_ density: ZWDensity, _ u: UnsafePointer<Double>) -> Double {
        let p = density.parameters
        let zLow = max(0, p.zMass - p.massWindow * p.zWidth), zHigh = p.zMass + p.massWindow * p.zWidth
        let wLow = max(0, p.wMass - p.massWindow * p.wWidth), wHigh = p.wMass + p.massWindow * p.wWidth
        let mZ = zLow + (zHigh - zLow) * u[0], mW = wLow + (wHigh - wLow) * u[1]
        let s = mZ + mW, span = p.maximumMass - (p.zMass + p.wMass)
        let m = s + span * u[2]
        let yMax = density.rapidityLimit(mass: m)
        let x = ZWPartonCoordinates(zMass: mZ, wMass: mW, mass: m, rapidity: yMax * (2 * u[3] - 1),
                                    cosTheta: 2 * u[4] - 1, phi: .pi * (2 * u[5] - 1),
                                    zDecayCos: 2 * u[6] - 1, zDecayPhi: .pi * (2 * u[7] - 1),
                                    wDecayCos: 2 * u[8] - 1, wDecayPhi: .pi * (2 * u[9] - 1))
        let jacobian = (zHigh - zLow) * (wHigh - wLow) * span * 2 * yMax * pow(2, 3) * pow(2 * .pi, 3)
        return exp(density.logDensity(x)) * jacobian
    }

    /// Warm-up of 20k calls to adapt the grid, then runs of 5 iterations of 50k calls until the
    /// iterations agree (`Vegas.Schedule`).
    private func vegasIntegral(_ density: ZWDensity, seed: UInt64) -> (Double, Double, Double) {
        let schedule = Vegas.Schedule(warmUpCalls: 20_000, callsPerIteration: 50_000, maximumRuns: 5)
        let r = Vegas.integrate(dimension: 10, schedule: schedule, RNGStream(seed: seed)) { Self.unitCubeIntegrand(density, $0) }
        return (r.value, r.error, r.chi2PerDof)
    }

    // MARK: The sampler's density

    /// Pearson chi-square over bins, p > 1e-3 (a correct sampler fails with probability 1e-3 per
    /// projection) and every |pull| < 5.
    private func assertMatches(_ name: String, observed: [Double], expected: [Double], seed: UInt64,
                               file: StaticString = #filePath, line: UInt = #line) {
        let r = chiSquare(observed: observed, expected: expected)
        print(String(format: "%@ seed %llu: chi2/ndf = %.1f/%d, p = %.3f, max |pull| %.2f", name, seed, r.chi2, r.dof, r.p, r.maxPull))
        XCTAssertGreaterThan(r.p, 1e-3, "\(name), seed \(seed)", file: file, line: line)
        XCTAssertLessThan(r.maxPull, 5, "\(name), seed \(seed)", file: file, line: line)
    }

    /// Counts of `values` in `edges` (plus underflow and overflow bins) against n times the
    /// CDF differences.
    private func histogram(_ values: [Double], edges: [Double], cdf: (Double) -> Double) -> (observed: [Double], expected: [Double]) {
        var observed = [Double](repeating: 0, count: edges.count + 1)
        for v in values {
            var i = 0
            while i < edges.count && v >= edges[i] { i += 1 }
            observed[i] += 1
        }
        let n = Double(values.count)
        let cuts = [0.0] + edges.map(cdf) + [1.0]
        return (observed, (0...edges.count).map { n * (cuts[$0 + 1] - cuts[$0]) })
    }

    /// Events from `ZWProduction.generate` (a W' with probability f per event, so the sample is
    /// drawn from the mixture) against the density in four projections, 40 bins each:
    /// - m_W: bins over m_W +- 5 Gamma_W plus two tail bins, expected from the Breit-Wigner CDF;
    /// - quark-side cos theta: expected (1 - f) G(c; A, B) + f G(c; A', 0) per bin;
    /// - m_ZW given m_Z + m_W, and y given m_ZW: the conditional CDF value of each event
    ///   (the generator's 2001-bin threshold table for the SM, the W' Breit-Wigner above threshold,
    ///   p(y | m) by GSL quadrature) is uniform exactly when the conditional density is the
    ///   sampler's; the marginals of m_ZW and y are convolutions over the masses, so binning the
    ///   conditional CDF is the exact bin integral of the density.
    /// A cos theta histogram against angular_B + 0.03 must fail (the test has the power to see it).
    private func assertSamplerMatchesDensity(f: Double, events: Int, seed: UInt64) throws {
        let density = try ZWDensity(wPrimeFraction: f)
        let production = ZWProduction(parameters: density.parameters)
        let rng = RNGStream(seed: seed)
        var wMass: [Double] = [], cosTheta: [Double] = [], massPIT: [Double] = [], rapidityPIT: [Double] = []
        for _ in 0..<events {
            let x = ZWPartonCoordinates(production.generate(wPrime: rng.uniform() < f, rng))
            wMass.append(x.wMass); cosTheta.append(x.cosTheta)
            massPIT.append(density.partonicMassCDF(x.mass, threshold: x.zMass + x.wMass))
            rapidityPIT.append(density.rapidityCDF(x.rapidity, mass: x.mass))
        }
        let p = density.parameters
        let wEdges = (0...38).map { p.wMass + p.wWidth * (-5 + 10 * Double($0) / 38) }
        let w = histogram(wMass, edges: wEdges, cdf: density.wMassCDF)
        assertMatches("m_W (f = \(f))", observed: w.observed, expected: w.expected, seed: seed)
        let unitEdges = (1..<40).map { Double($0) / 40 }
        let c = histogram(cosTheta, edges: unitEdges.map { 2 * $0 - 1 }, cdf: density.productionAngleCDF)
        assertMatches("cos theta (f = \(f))", observed: c.observed, expected: c.expected, seed: seed)
        // Power: the same histogram fails against angular_B + 0.03 (expected chi2 about 200).
        let shifted = try ZWDensity(parameters: p.setting("angular_B", to: "\(p.angularB + 0.03)"), wPrimeFraction: f)
        let wrong = histogram(cosTheta, edges: unitEdges.map { 2 * $0 - 1 }, cdf: shifted.productionAngleCDF)
        XCTAssertLessThan(chiSquare(observed: wrong.observed, expected: wrong.expected).p, 1e-3, "B + 0.03, seed \(seed)")
        let m = histogram(massPIT, edges: unitEdges) { $0 }
        assertMatches("CDF of m_ZW given m_Z + m_W (f = \(f))", observed: m.observed, expected: m.expected, seed: seed)
        let y = histogram(rapidityPIT, edges: unitEdges) { $0 }
        assertMatches("CDF of y given m_ZW (f = \(f))", observed: y.observed, expected: y.expected, seed: seed)
    }

    /// zw: 10^6 events (about 9 s in a debug build; the generator and the CDFs are compiled optimised).
    func testStandardModelSamplerMatchesDensity() throws {
        try assertSamplerMatchesDensity(f: 0, events: 1_000_000, seed: 55)
    }

    /// wprime with f = 0.1: 10^6 events.
    func testWPrimeMixtureSamplerMatchesDensity() throws {
        try assertSamplerMatchesDensity(f: 0.1, events: 1_000_000, seed: 56)
    }

    /// The density of generated events is finite, and one evaluation's time is printed.
    func testDensityOfGeneratedEventsIsFinite() throws {
        let density = try ZWDensity(wPrimeFraction: 0.1)
        let production = ZWProduction()
        let rng = RNGStream(seed: 57)
        let events = (0..<10_000).map { i in production.generate(wPrime: i % 10 == 0, rng) }
        let start = DispatchTime.now().uptimeNanoseconds
        let values = events.map(density.logDensity)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        print(String(format: "log p from a HardEvent: %.2f us per event", seconds / Double(events.count) * 1e6))
        XCTAssertTrue(values.allSatisfy(\.isFinite), "seed 57")
    }

    /// A prepared point (support and rapidity factor computed once, for scans) gives the same
    /// log p as the full evaluation at other W masses, angular coefficients and W' fractions, and
    /// the spectrum's direct bin look-up is the binary search's bin.
    func testPreparedPointsGiveTheFullDensity() throws {
        let production = ZWProduction(), rng = RNGStream(seed: 59), reference = try ZWDensity(wPrimeFraction: 0.1)
        let points = (0..<2_000).map { i in ZWPartonCoordinates(production.generate(wPrime: i % 10 == 0, rng)) }
        let prepared = points.map { reference.prepare($0, rapidityNormalisation: reference.rapidityNormalisation(mass: $0.mass)) }
        XCTAssertTrue(prepared.allSatisfy { $0 != nil }, "generated points are inside the support")
        for setting in [["m_W=79.4"], ["m_W=82.1", "angular_B=0.4"], ["Gamma_W=2.5"]] {
            let density = try ZWDensity(parameters: ZWParameters().setting(setting), wPrimeFraction: 0.3)
            for (x, p) in zip(points, prepared) {
                let full = density.logDensity(x), fast = density.logDensity(p!)
                XCTAssertEqual(fast, full, accuracy: 1e-12 * max(1, abs(full)), "\(setting)")
            }
        }
        // A point prepared at another PDF power falls back to the full evaluation.
        let other = try ZWDensity(parameters: ZWParameters().setting(["pdf_power=3"]))
        XCTAssertEqual(other.logDensity(prepared[1]!), other.logDensity(points[1]), accuracy: 1e-12 * abs(other.logDensity(points[1])))

        let spectrum = ThresholdSpectrum(ZWParameters())
        func search(_ delta: Double) -> Int? {
            guard delta >= 0, delta < spectrum.edges.last! else { return nil }
            return spectrum.edges.lastIndex { $0 <= delta }
        }
        var deltas = spectrum.edges + spectrum.edges.map { $0.nextDown } + spectrum.edges.map { $0.nextUp } + [-1, 0, 1e-9, 1e9]
        deltas += (0..<10_000).map { _ in exp(rng.uniform(-8, 8.3)) }
        for delta in deltas { XCTAssertEqual(spectrum.bin(delta), search(delta), "Delta = \(delta)") }
    }

    // MARK: Parameters

    /// The density as a likelihood in theta: 20k events generated with angular_B = 0.5 and
    /// f = 0.1 (W' with probability f per event); the summed log p at truth +- h gives the
    /// Newton estimate and its error 1 / sqrt(curvature). Each estimate within 4 sigma of the truth.
    func testLikelihoodRecoversAngularBAndWPrimeFraction() throws {
        let truth = try ZWParameters().setting(["angular_B=0.5"]), f = 0.1
        let production = ZWProduction(parameters: truth)
        let rng = RNGStream(seed: 58)
        let events = (0..<20_000).map { _ in ZWPartonCoordinates(production.generate(wPrime: rng.uniform() < f, rng)) }
        func logLikelihood(_ parameters: ZWParameters, _ fraction: Double) throws -> Double {
            let density = try ZWDensity(parameters: parameters, wPrimeFraction: fraction)
            return events.reduce(0) { $0 + density.logDensity($1) }
        }
        func estimate(at x0: Double, step h: Double, _ l: (Double) throws -> Double) rethrows -> (value: Double, error: Double) {
            let (minus, centre, plus) = (try l(x0 - h), try l(x0), try l(x0 + h))
            let curvature = (plus - 2 * centre + minus) / (h * h)
            return (x0 - (plus - minus) / (2 * h) / curvature, 1 / (-curvature).squareRoot())
        }
        let b = try estimate(at: 0.5, step: 0.05) { try logLikelihood(truth.setting("angular_B", to: "\($0)"), f) }
        let fraction = try estimate(at: f, step: 0.01) { try logLikelihood(truth, $0) }
        print(String(format: "seed 58: B = %.4f +- %.4f (truth 0.5), f = %.4f +- %.4f (truth 0.1)", b.value, b.error, fraction.value, fraction.error))
        XCTAssertEqual(b.value, 0.5, accuracy: 4 * b.error, "seed 58")
        XCTAssertEqual(fraction.value, f, accuracy: 4 * fraction.error, "seed 58")
    }

    /// The angular shape must stay non-negative on [-1, 1]; f in [0, 1].
    func testRejectsParametersTheSamplerCannotDraw() {
        var p = ZWParameters()
        p.angularB = 2.5
        XCTAssertThrowsError(try ZWDensity(parameters: p))
        XCTAssertThrowsError(try ZWDensity(wPrimeFraction: 1.5))
    }
}

extension ZWDensityTests {
    /// The tabulated N(tau) against the GSL quadrature at 300 masses from 25 GeV to sqrt(s)/2
    /// (log-uniform) and at the table's nodes' midpoints near threshold: relative 1e-10.
    func testRapidityNormalisationTable() throws {
        let density = try ZWDensity()
        let table = RapidityNormalisationTable.shared(for: density)
        let rng = RNGStream(seed: 61)
        for _ in 0..<300 {
            let m = 25 * pow(0.5 * density.parameters.sqrtS / 25, rng.uniform())
            assertClose(table.value(mass: m), density.rapidityNormalisation(mass: m), rel: 1e-10, abs: 0, "N at m = \(m)")
        }
        for m in stride(from: 160.0, to: 180, by: 0.37) {
            assertClose(table.value(mass: m), density.rapidityNormalisation(mass: m), rel: 1e-10, abs: 0, "N at m = \(m)")
        }
        // Beyond the table: the quadrature itself.
        XCTAssertEqual(table.value(mass: 0.6 * density.parameters.sqrtS), density.rapidityNormalisation(mass: 0.6 * density.parameters.sqrtS))
    }
}
