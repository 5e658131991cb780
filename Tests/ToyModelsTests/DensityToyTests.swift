import CGSL
import Tensor
import TestSupport
import ToyModels
import XCTest

final class DensityToyTests: XCTestCase {
    static let events = 1_000_000

    /// 10^6 events in a 2D histogram against the bin integrals of the analytic density, plus one
    /// overflow bin. A correct sampler fails p > 1e-3 with probability 1e-3; pulls of a few hundred
    /// bins stay below 5 sigma except with probability ~ 1e-4.
    func assertSampleMatchesDensity(_ toy: any DensityToy, x: ClosedRange<Double>, y: ClosedRange<Double>,
                                    bins: (Int, Int), seed: UInt64, file: StaticString = #filePath, line: UInt = #line) {
        let sample = toy.sample(n: Self.events, rng: RNGStream(seed: seed))
        let histogram = gsl_histogram2d_alloc(bins.0, bins.1)!
        defer { gsl_histogram2d_free(histogram) }
        gsl_histogram2d_set_ranges_uniform(histogram, x.lowerBound, x.upperBound, y.lowerBound, y.upperBound)
        var overflow = 0.0
        for i in 0..<Self.events where gsl_histogram2d_increment(histogram, sample[2 * i], sample[2 * i + 1]) != 0 { overflow += 1 }
        var observed: [Double] = [], expected: [Double] = []
        let dx = (x.upperBound - x.lowerBound) / Double(bins.0), dy = (y.upperBound - y.lowerBound) / Double(bins.1)
        for i in 0..<bins.0 {
            for j in 0..<bins.1 {
                let bx = (x.lowerBound + Double(i) * dx)...(x.lowerBound + Double(i + 1) * dx)
                let by = (y.lowerBound + Double(j) * dy)...(y.lowerBound + Double(j + 1) * dy)
                observed.append(gsl_histogram2d_get(histogram, i, j))
                expected.append(Double(Self.events) * toy.probability(x: bx, y: by))
            }
        }
        observed.append(overflow)
        expected.append(max(0, Double(Self.events) - expected.reduce(0, +)))
        let result = chiSquare(observed: observed, expected: expected)
        print("\(toy.name) seed \(seed): chi2 = \(result.chi2) / \(result.dof) dof, p = \(result.p), max |pull| = \(result.maxPull)")
        XCTAssertGreaterThan(result.p, 1e-3, "\(toy.name) seed \(seed): chi2 \(result.chi2) for \(result.dof) dof", file: file, line: line)
        XCTAssertLessThan(result.maxPull, 5, "\(toy.name) seed \(seed)", file: file, line: line)
    }

    func testWedgeSampleMatchesDensity() {
        assertSampleMatchesDensity(WedgeRamp(), x: 0...1, y: 0...1, bins: (20, 20), seed: 11)
        assertSampleMatchesDensity(WedgeRamp(x: -1...3, y: 2...2.5), x: -1...3, y: 2...2.5, bins: (16, 8), seed: 12)
    }

    func testKickerSampleMatchesDensity() {
        assertSampleMatchesDensity(KickerRamp(), x: 0...1, y: 0...1, bins: (20, 20), seed: 21)
    }

    func testRingSampleMatchesDensity() {
        // Bin integrals by nested GSL quadrature of p(x, y) = Gauss(r) / (pi r A).
        assertSampleMatchesDensity(GaussianRing(), x: -7...7, y: 0...7, bins: (28, 14), seed: 31)
    }

    /// Heavy truncation (mu = w = 1, A = Phi(1) = 0.84): the inverse-CDF radius must follow the
    /// truncated Gaussian exactly. Radial histogram against (Phi(b - mu) - Phi(a - mu)) / A, and
    /// the mean mu + w phi(mu/w) / Phi(mu/w) within 5 standard errors.
    func testTruncatedRingRadiusIsExact() {
        let ring = GaussianRing(mu: 1, w: 1)
        assertClose(ring.acceptance, gsl_cdf_ugaussian_P(1), rel: 1e-15)
        let seed: UInt64 = 41
        let sample = ring.sample(n: Self.events, rng: RNGStream(seed: seed))
        let radii: [Double] = (0..<Self.events).map { i -> Double in
            let x = sample[2 * i], y = sample[2 * i + 1]
            return (x * x + y * y).squareRoot()
        }
        XCTAssertTrue(radii.allSatisfy { $0 > 0 }, "seed \(seed)")
        XCTAssertTrue((0..<Self.events).allSatisfy { sample[2 * $0 + 1] >= 0 }, "y >= 0 (phi in [0, pi]), seed \(seed)")
        let edges = stride(from: 0.0, through: 5.0, by: 0.1).map { $0 }
        var observed = [Double](repeating: 0, count: edges.count)   // last bin: r >= 5
        for r in radii { observed[min(Int(r / 0.1), edges.count - 1)] += 1 }
        let cdf = { (r: Double) in (gsl_cdf_ugaussian_P(r - 1) - gsl_cdf_ugaussian_P(-1)) / ring.acceptance }
        var expected = (0..<edges.count - 1).map { Double(Self.events) * (cdf(edges[$0 + 1]) - cdf(edges[$0])) }
        expected.append(Double(Self.events) * (1 - cdf(5)))
        let result = chiSquare(observed: observed, expected: expected)
        print("truncated ring seed \(seed): radial chi2 = \(result.chi2) / \(result.dof) dof, p = \(result.p)")
        XCTAssertGreaterThan(result.p, 1e-3, "seed \(seed)")
        let mean = radii.reduce(0, +) / Double(Self.events)
        let expectedMean = 1 + gsl_ran_ugaussian_pdf(1) / gsl_cdf_ugaussian_P(1)
        let variance = radii.reduce(0.0) { (sum: Double, r: Double) -> Double in sum + (r - mean) * (r - mean) } / Double(Self.events - 1)
        XCTAssertLessThan(abs(mean - expectedMean), 5 * (variance / Double(Self.events)).squareRoot(), "seed \(seed)")
    }

    /// The marginals integrate to one within 1e-6 (GSL QAGS / QAGIU), and agree with the
    /// numerical integral of the 2D density over the other coordinate.
    func testMarginalsIntegrateToOne() {
        let toys: [any DensityToy] = [WedgeRamp(), KickerRamp(x: 1...3, y: -1...1), GaussianRing(), GaussianRing(mu: 1.5, w: 0.7)]
        for toy in toys {
            let (x, y) = (toy.xSupport, toy.ySupport)
            let px: Double
            if x.lowerBound.isInfinite {   // the ring: symmetric in x, log-singular at x = 0
                px = 2 * Quadrature.integrate(0, .infinity, relative: 1e-9) { toy.marginalX($0) }
            } else {
                px = Quadrature.integrate(x.lowerBound, x.upperBound) { toy.marginalX($0) }
            }
            let py = Quadrature.integrate(y.lowerBound, y.upperBound, relative: 1e-9) { toy.marginalY($0) }
            assertClose(px, 1, rel: 0, abs: 1e-6, "\(toy.name) \(toy.parameters): integral of p(x)")
            assertClose(py, 1, rel: 0, abs: 1e-6, "\(toy.name) \(toy.parameters): integral of p(y)")
            let box = toy.window
            assertClose(toy.probability(x: box.x, y: box.y), 1, rel: 0, abs: 1e-6, "\(toy.name): integral of p(x, y)")
            for u in [0.3, 0.77, 2.9] where x.contains(u) && box.x.contains(u) {
                let direct = Quadrature.integrate(max(y.lowerBound, box.y.lowerBound), min(y.upperBound, box.y.upperBound)) { toy.density(x: u, y: $0) }
                assertClose(toy.marginalX(u), direct, rel: 1e-8, abs: 1e-12, "\(toy.name): p(x = \(u))")
            }
        }
    }

    func testSeedReproducesSampleExactly() {
        for kind in DensityToyKind.allCases {
            let toy = kind.standardToy()
            let a = toy.sample(n: 10_000, rng: RNGStream(seed: 5).child("generate.\(kind)"))
            let b = toy.sample(n: 10_000, rng: RNGStream(seed: 5).child("generate.\(kind)"))
            let c = toy.sample(n: 10_000, rng: RNGStream(seed: 6).child("generate.\(kind)"))
            XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), "\(kind) seed 5")
            XCTAssertNotEqual(a, c, "\(kind): seeds 5 and 6")
        }
    }

    /// Eq. 6.22 and 6.26: the generalised ramps' shape parameters; the ring's ray maximum 2 + sqrt 3.
    func testShapeParameters() {
        let wedge = WedgeRamp(x: 1...3, y: 0...2), p = wedge.parameters
        let a = p["a"]!, b = (1 - a / 2 * (9 - 1)) / (3 - 1)      // eq. 6.22 fixes b by normalisation
        assertClose(p["b"]!, b, rel: 1e-14)
        for x in [1.0, 1.7, 3.0] { assertClose(wedge.marginalX(x), a * x + b, rel: 1e-14, abs: 1e-15) }
        let kicker = KickerRamp(x: 0.5...2, y: 0...1)
        for x in [0.5, 1.2, 2.0] { assertClose(kicker.marginalX(x), 3 * (x - 0.5) * (x - 0.5) / pow(1.5, 3), rel: 1e-14, abs: 1e-15) }
        XCTAssertEqual(kicker.parameters["x0"], 0.5)
        let ring = GaussianRing()
        assertClose(ring.peakRadius, 2 + 3.0.squareRoot(), rel: 1e-15)
        let alongRay = { (r: Double) in ring.density(x: r * cos(0.7), y: r * sin(0.7)) }
        XCTAssertGreaterThan(alongRay(ring.peakRadius), alongRay(ring.peakRadius - 1e-3))
        XCTAssertGreaterThan(alongRay(ring.peakRadius), alongRay(ring.peakRadius + 1e-3))
        XCTAssertEqual(ring.density(x: 1, y: -0.1), 0)
    }
}
