import CGSL
import Foundation
import Physics
import Tensor
import TestSupport
import XCTest

/// RAMBO on diet: both directions invert each other, the momenta conserve and sit on shell, the
/// map is flat (massless) or flat after reweighting (massive), and the weights integrate to the
/// phase-space volumes of the convention prod d^3p / (2E) delta^4 (no 2 pi factors).
final class RamboOnDietTests: XCTestCase {
    /// Masses of up to six particles (GeV), some zero; sqrt(s) = 100 GeV is 1.3 x the largest threshold.
    static let someMasses: [Double] = [5, 10, 0, 20, 1, 40]
    static let sqrtS = 100.0

    static func maps(_ n: Int) throws -> [(name: String, map: RamboOnDiet)] {
        [("massless", try RamboOnDiet(masslessParticles: n)), ("massive", try RamboOnDiet(masses: Array(someMasses.prefix(n))))]
    }

    static func uniform(_ count: Int, _ rng: RNGStream) -> [Double] { (0..<count).map { _ in rng.uniform() } }

    /// The distance of two numbers in [0, 1] on the circle (r_phi = 1 and 0 are the same angle).
    static func circularDistance(_ a: Double, _ b: Double) -> Double { let d = abs(a - b); return min(d, 1 - d) }

    /// The deliberately wrong variant M_i = u_i M_{i-1}, u_i the root of F_n(u) = r (the ratio,
    /// not its square, drawn from the polynomial; the bug issue #15 reports): the correct map fed with
    /// r' = F_n(u^2), so that its sqrt(u') = u. Used only to show the flatness tests fail on it.
    static func wrongPowerNumbers(_ r: [Double], particles: Int) -> [Double] {
        var wrong = r
        for i in 1..<(particles - 1) {
            let u = RamboOnDiet.massRatioSquared(probability: r[i - 1], particles: particles - i)
            wrong[i - 1] = RamboOnDiet.massRatioSquaredCDF(u * u, particles: particles - i)
        }
        return wrong
    }

    // MARK: Polynomial

    /// F_n(u(r)) = r to 1e-15 for n = 2 ... 6, and n = 2 has the closed form u = 1 - sqrt(1 - r).
    func testMassRatioSolvesThePolynomial() {
        let rng = RNGStream(seed: 150)
        for _ in 0..<1_000 {
            let r = rng.uniform()
            for n in 2...6 {
                let u = RamboOnDiet.massRatioSquared(probability: r, particles: n)
                XCTAssertTrue((0...1).contains(u))
                XCTAssertEqual(RamboOnDiet.massRatioSquaredCDF(u, particles: n), r, accuracy: 1e-15, "n \(n), seed 150")
            }
            assertClose(RamboOnDiet.massRatioSquared(probability: r, particles: 2), 1 - (1 - r).squareRoot(), rel: 1e-12, abs: 1e-15)
        }
        XCTAssertEqual(RamboOnDiet.massRatioSquared(probability: 0, particles: 4), 0)
        XCTAssertEqual(RamboOnDiet.massRatioSquared(probability: 1, particles: 4), 1)
    }

    // MARK: Round trips, conservation, mass shell

    /// r -> p -> r for N = 2 ... 6, massless and massive, 2000 points each: r back to 1e-9
    /// (r_phi on the circle), sqrt(s) to 1e-12, the weight of both directions equal to 1e-9.
    /// The momenta conserve (sqrt s, 0, 0, 0) to 1e-9 sqrt(s) per component and are on shell,
    /// |p^2 - m^2| <= 1e-9 s.
    func testNumbersToMomentaAndBack() throws {
        let rng = RNGStream(seed: 151)
        let s = Self.sqrtS * Self.sqrtS
        for n in 2...6 {
            for (name, map) in try Self.maps(n) {
                for _ in 0..<2_000 {
                    let r = Self.uniform(map.dimension, rng)
                    let (p, w) = map.momenta(from: r, sqrtS: Self.sqrtS)
                    let total = p.reduce(FourMomentum.zero, +)
                    for (a, b) in [(total.e, Self.sqrtS), (total.px, 0), (total.py, 0), (total.pz, 0)] {
                        XCTAssertEqual(a, b, accuracy: 1e-9 * Self.sqrtS, "\(name) N \(n), r \(r)")
                    }
                    for (k, m) in zip(p, map.masses) {
                        XCTAssertEqual(k.mass2, m * m, accuracy: 1e-9 * s, "\(name) N \(n), r \(r)")
                        XCTAssertGreaterThan(k.e, 0)
                    }
                    let back = map.randomNumbers(from: p)
                    assertClose(back.sqrtS, Self.sqrtS, rel: 1e-12)
                    assertClose(back.weight, w, rel: 1e-9, "\(name) N \(n), r \(r)")
                    for (d, (a, b)) in zip(back.r, r).enumerated() {
                        let isPhi = d >= n - 2 && (d - (n - 2)) % 2 == 1
                        let distance = isPhi ? Self.circularDistance(a, b) : abs(a - b)
                        XCTAssertLessThanOrEqual(distance, 1e-9, "\(name) N \(n), r[\(d)]: \(a) vs \(b), seed 151")
                    }
                }
            }
        }
    }

    /// p -> r -> p on momenta not made by the map: N - 1 random three-momenta in a 50 GeV box,
    /// the last one balancing them, energies on shell (sqrt(s) = sum E varies). The numbers are
    /// in [0, 1], and the map returns the momenta to 1e-9 sqrt(s) and the same weight to 1e-9.
    func testMomentaToNumbersAndBack() throws {
        let rng = RNGStream(seed: 152)
        for n in 2...6 {
            for (name, map) in try Self.maps(n) {
                for _ in 0..<2_000 {
                    var k = (0..<(n - 1)).map { _ in (rng.uniform(-50, 50), rng.uniform(-50, 50), rng.uniform(-50, 50)) }
                    k.append(k.reduce((0.0, 0.0, 0.0)) { ($0.0 - $1.0, $0.1 - $1.1, $0.2 - $1.2) })
                    let p = zip(k, map.masses).map { v, m in
                        FourMomentum(e: (v.0 * v.0 + v.1 * v.1 + v.2 * v.2 + m * m).squareRoot(), px: v.0, py: v.1, pz: v.2)
                    }
                    let (r, sqrtS, w) = map.randomNumbers(from: p)
                    XCTAssertTrue(r.allSatisfy { (0...1).contains($0) }, "\(name) N \(n): \(r)")
                    let (again, w2) = map.momenta(from: r, sqrtS: sqrtS)
                    assertClose(w2, w, rel: 1e-9, "\(name) N \(n)")
                    for (a, b) in zip(again, p) {
                        for (x, y) in [(a.e, b.e), (a.px, b.px), (a.py, b.py), (a.pz, b.pz)] {
                            XCTAssertEqual(x, y, accuracy: 1e-9 * sqrtS, "\(name) N \(n), seed 152, \(a) vs \(b)")
                        }
                    }
                }
            }
        }
    }

    // MARK: Volumes

    /// The massless weight is the constant (pi/2)^(N-1) s^(N-2) / ((N-1)! (N-2)!), which is the
    /// convention's volume: pi/2 and pi^2 s / 8 for N = 2, 3 by hand, and for N = 3 ... 6 the
    /// recursion Phi_N(s) = Integral_0^s dM^2 Phi_2(s; 0, M) Phi_{N-1}(M^2), with
    /// Phi_2(s; 0, M) = pi/2 (1 - M^2/s), by GSL quadrature to 1e-9.
    func testMasslessWeightIsTheVolume() throws {
        let s = Self.sqrtS * Self.sqrtS
        assertClose(RamboOnDiet.masslessVolume(particles: 2, s: s), .pi / 2, rel: 1e-14)
        assertClose(RamboOnDiet.masslessVolume(particles: 3, s: s), .pi * .pi * s / 8, rel: 1e-14)
        for n in 3...6 {
            let recursion = Quadrature.integrate(0, s, relative: 1e-12) { m2 in
                .pi / 2 * (1 - m2 / s) * RamboOnDiet.masslessVolume(particles: n - 1, s: m2)
            }
            assertClose(RamboOnDiet.masslessVolume(particles: n, s: s), recursion, rel: 1e-9, "N \(n)")
        }
        let rng = RNGStream(seed: 153)
        for n in 2...6 {
            let map = try RamboOnDiet(masslessParticles: n)
            for _ in 0..<100 {
                let w = map.momenta(from: Self.uniform(map.dimension, rng), sqrtS: Self.sqrtS).weight
                assertClose(w, RamboOnDiet.masslessVolume(particles: n, s: s), rel: 1e-12, "N \(n)")
            }
        }
    }

    /// The massive weight averages to the massive volume. N = 2: the weight is the constant
    /// pi lambda^(1/2)(s, m1^2, m2^2) / (2 s) (to 1e-12, so the average is exact). N = 3, masses
    /// (1, 2, 3) at sqrt(s) = 10, and N = 4, masses (173, 173, 80.4, 4.8) at sqrt(s) = 600:
    /// 100k points each, mean within 4 standard errors of Phi_N from the recursion
    /// Phi_N(s) = Integral dK^2 Phi_2(s; m1, K) Phi_{N-1}(K^2; m2, ...) by nested GSL quadrature.
    /// Measured (seed 154): N = 3 mean 35.41 vs 35.355, pull +1.4 (standard error 0.11 % of the
    /// volume); N = 4 pull -0.07 (standard error 0.11 %).
    func testMassiveWeightAveragesToTheVolume() throws {
        for (m1, m2) in [(5.0, 10.0), (0, 30), (49, 50)] {
            let map = try RamboOnDiet(masses: [m1, m2])
            let rng = RNGStream(seed: 154)
            let volume = RamboOnDiet.twoBodyVolume(s: Self.sqrtS * Self.sqrtS, m1: m1, m2: m2)
            for _ in 0..<100 {
                assertClose(map.momenta(from: Self.uniform(2, rng), sqrtS: Self.sqrtS).weight, volume, rel: 1e-12, "m \(m1), \(m2)")
            }
        }
        func phi3(_ s: Double, _ m: [Double]) -> Double {
            let low = (m[1] + m[2]) * (m[1] + m[2]), high = (s.squareRoot() - m[0]) * (s.squareRoot() - m[0])
            guard high > low else { return 0 }
            return Quadrature.integrate(low, high, relative: 1e-10) { k2 in
                RamboOnDiet.twoBodyVolume(s: s, m1: m[0], m2: k2.squareRoot()) * RamboOnDiet.twoBodyVolume(s: k2, m1: m[1], m2: m[2])
            }
        }
        func phi4(_ s: Double, _ m: [Double]) -> Double {
            let low = (m[1] + m[2] + m[3]) * (m[1] + m[2] + m[3]), high = (s.squareRoot() - m[0]) * (s.squareRoot() - m[0])
            return Quadrature.integrate(low, high, relative: 1e-8) { k2 in
                RamboOnDiet.twoBodyVolume(s: s, m1: m[0], m2: k2.squareRoot()) * phi3(k2, Array(m[1...]))
            }
        }
        let cases: [(masses: [Double], sqrtS: Double, volume: Double)] = [
            ([1, 2, 3], 10, phi3(100, [1, 2, 3])),
            ([173, 173, 80.4, 4.8], 600, phi4(360_000, [173, 173, 80.4, 4.8])),
        ]
        for (masses, sqrtS, volume) in cases {
            let map = try RamboOnDiet(masses: masses)
            let rng = RNGStream(seed: 154)
            let count = 100_000
            var sum = 0.0, sum2 = 0.0
            for _ in 0..<count {
                let w = map.momenta(from: Self.uniform(map.dimension, rng), sqrtS: sqrtS).weight
                sum += w; sum2 += w * w
            }
            let mean = sum / Double(count), error = ((sum2 / Double(count) - mean * mean) / Double(count)).squareRoot()
            print("massive volume \(masses): mean weight \(mean) +- \(error) (\(error / volume) relative), quadrature \(volume), pull \((mean - volume) / error)")
            XCTAssertLessThan(abs(mean - volume), 4 * error,
                              "masses \(masses): mean weight \(mean) +- \(error) vs volume \(volume) (pull \((mean - volume) / error)), seed 154")
        }
    }

    // MARK: Flatness

    /// Three massless bodies, 100k uniform points: the Dalitz plot is uniform in the triangle
    /// m12^2 + m23^2 <= s, so E[m_ij^2 / s] = 1/3 for each pair (each mean within 4 standard errors,
    /// sigma = 0.236 / sqrt(1e5) = 7.5e-4), and a 20 x 20 histogram of (m12^2, m23^2) / s over the
    /// 190 bins wholly inside the triangle agrees with flat (p > 1e-3).
    ///
    /// The wrong power (M_2 = u sqrt(s), u the polynomial's root) gives m23^2 = u^2 s with
    /// E[u^2] = Integral 2 (1 - u) u^2 du = 1/6: measured (seed 155) E[m23^2/s] = 0.1662 (pull -269),
    /// E[m12^2/s], E[m13^2/s] = 0.4166, 0.4172 (pulls +99, +100), Dalitz chi2 = 1.08e5 for 190
    /// bins, p = 0. The correct map measures means 0.3335, 0.3337, 0.3328 (pulls +0.2, +0.5,
    /// -0.7) and chi2 = 170 / 190, p = 0.85.
    func testThreeMasslessBodiesAreFlat() throws {
        let map = try RamboOnDiet(masslessParticles: 3)
        let rng = RNGStream(seed: 155)
        let count = 100_000
        let draws = (0..<count).map { _ in Self.uniform(map.dimension, rng) }
        func measure(_ numbers: [Double]) -> (m12: Double, m13: Double, m23: Double) {
            let p = map.momenta(from: numbers, sqrtS: Self.sqrtS).momenta, s = Self.sqrtS * Self.sqrtS
            return ((p[0] + p[1]).mass2 / s, (p[0] + p[2]).mass2 / s, (p[1] + p[2]).mass2 / s)
        }
        for wrong in [false, true] {
            let points = draws.map { measure(wrong ? Self.wrongPowerNumbers($0, particles: 3) : $0) }
            var pulls = [Double](), means = [Double]()
            for pair in [\(m12: Double, m13: Double, m23: Double).m12, \.m13, \.m23] {
                let values = points.map { $0[keyPath: pair] }
                let mean = values.reduce(0, +) / Double(count)
                let sd = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(count - 1)).squareRoot()
                pulls.append((mean - 1.0 / 3) / (sd / Double(count).squareRoot())); means.append(mean)
            }
            let bins = 20
            var observed = [Double](repeating: 0, count: bins * bins)
            for point in points {
                let i = min(bins - 1, Int(point.m12 * Double(bins))), j = min(bins - 1, Int(point.m23 * Double(bins)))
                observed[i * bins + j] += 1
            }
            var inside = [Double](), expected = [Double]()
            for i in 0..<bins { for j in 0..<bins where i + j + 2 <= bins {
                inside.append(observed[i * bins + j]); expected.append(Double(count) * 2 / Double(bins * bins))
            } }
            let test = chiSquare(observed: inside, expected: expected, totalFixed: false)
            print("3 massless bodies, wrong power \(wrong): means m12 m13 m23 \(means), pulls \(pulls), Dalitz chi2 \(test.chi2) / \(test.dof), p \(test.p)")
            if wrong {
                XCTAssertGreaterThan(pulls.map(abs).max()!, 50, "the wrong power must fail the means: pulls \(pulls)")
                XCTAssertLessThan(test.p, 1e-3, "the wrong power must fail the Dalitz plot: chi2 \(test.chi2) / \(test.dof)")
            } else {
                XCTAssertLessThan(pulls.map(abs).max()!, 4, "E[m_ij^2 / s] = 1/3: pulls \(pulls), seed 155")
                XCTAssertEqual(inside.count, 190)
                XCTAssertGreaterThan(test.p, 1e-3, "Dalitz chi2 \(test.chi2) / \(test.dof), seed 155")
            }
        }
    }

    /// N = 4, 5, 6 massless, 30k points each: flat phase space is symmetric under permutations
    /// and sum_{i<j} m_ij^2 = s, so E[m_ij^2 / s] = 2 / (N (N - 1)) for every pair and
    /// E[E_i / sqrt s] = 1/N for every particle (each within 4 standard errors; 25, 45 and 66
    /// means at 4 sigma). The wrong power fails: its largest pull is above 30 for each N.
    /// Measured (seed 156): largest pulls 1.2, 1.4, 2.4; wrong power 244, 353, 445.
    func testManyMasslessBodiesAreSymmetric() throws {
        let rng = RNGStream(seed: 156)
        let count = 30_000
        for n in 4...6 {
            let map = try RamboOnDiet(masslessParticles: n)
            var pullsByVariant = [[Double]]()
            let draws = (0..<count).map { _ in Self.uniform(map.dimension, rng) }
            for wrong in [false, true] {
                var pairs = [(i: Int, j: Int)]()
                for i in 0..<n { for j in (i + 1)..<n { pairs.append((i, j)) } }
                var sums = [Double](repeating: 0, count: pairs.count + n), squares = sums
                for r in draws {
                    let p = map.momenta(from: wrong ? Self.wrongPowerNumbers(r, particles: n) : r, sqrtS: Self.sqrtS).momenta
                    for (k, pair) in pairs.enumerated() {
                        let x = (p[pair.i] + p[pair.j]).mass2 / (Self.sqrtS * Self.sqrtS)
                        sums[k] += x; squares[k] += x * x
                    }
                    for i in 0..<n {
                        let x = p[i].e / Self.sqrtS
                        sums[pairs.count + i] += x; squares[pairs.count + i] += x * x
                    }
                }
                let pulls = (0..<sums.count).map { k -> Double in
                    let mean = sums[k] / Double(count), variance = squares[k] / Double(count) - mean * mean
                    let expected = k < pairs.count ? 2 / Double(n * (n - 1)) : 1 / Double(n)
                    return (mean - expected) / (variance / Double(count)).squareRoot()
                }
                pullsByVariant.append(pulls)
            }
            let correct = pullsByVariant[0].map(abs).max()!, wrong = pullsByVariant[1].map(abs).max()!
            print("N \(n) massless: largest pull \(correct), wrong power \(wrong)")
            XCTAssertLessThan(correct, 4, "N \(n): pulls \(pullsByVariant[0]), seed 156")
            XCTAssertGreaterThan(wrong, 30, "N \(n): the wrong power must fail, pulls \(pullsByVariant[1])")
        }
    }

    /// Three massive bodies, masses (1, 2, 3) at sqrt(s) = 10, 150k points weighted by w: the
    /// Dalitz density is pi^2 / (4 s) per unit m12^2 m23^2 inside the (convex) region. A 16 x 16
    /// histogram over [(m1+m2)^2, (sqrt s - m3)^2] x [(m2+m3)^2, (sqrt s - m1)^2], bins with all four
    /// corners inside: chi2 = sum (sum w - N pi^2/(4s) area)^2 / sum w^2, dof = bins, p > 1e-3.
    /// Unweighted, the same histogram is far from flat (p < 1e-3): the weight is needed; with the
    /// wrong power the weighted histogram fails too. Measured (seed 157, 128 bins): weighted
    /// chi2 149, p = 0.096; unweighted 4438 (127 dof); wrong power weighted 6.5e4, p = 0.
    func testThreeMassiveBodiesAreFlatAfterReweighting() throws {
        let m: [Double] = [1, 2, 3], sqrtS = 10.0, s = sqrtS * sqrtS
        let map = try RamboOnDiet(masses: m)
        let xRange = ((m[0] + m[1]) * (m[0] + m[1]), (sqrtS - m[2]) * (sqrtS - m[2]))
        let yRange = ((m[1] + m[2]) * (m[1] + m[2]), (sqrtS - m[0]) * (sqrtS - m[0]))
        func inside(_ x: Double, _ y: Double) -> Bool {
            guard x >= xRange.0, x <= xRange.1 else { return false }
            let e2 = (x - m[0] * m[0] + m[1] * m[1]) / (2 * x.squareRoot()), e3 = (s - x - m[2] * m[2]) / (2 * x.squareRoot())
            let p2 = max(0, e2 * e2 - m[1] * m[1]).squareRoot(), p3 = max(0, e3 * e3 - m[2] * m[2]).squareRoot()
            return y >= (e2 + e3) * (e2 + e3) - (p2 + p3) * (p2 + p3) && y <= (e2 + e3) * (e2 + e3) - (p2 - p3) * (p2 - p3)
        }
        let bins = 16, dx = (xRange.1 - xRange.0) / Double(bins), dy = (yRange.1 - yRange.0) / Double(bins)
        let count = 150_000, density = Double.pi * .pi / (4 * s)
        for wrong in [false, true] {
            var sumW = [Double](repeating: 0, count: bins * bins), sumW2 = sumW, counts = sumW
            let rng = RNGStream(seed: 157)
            for _ in 0..<count {
                let r = Self.uniform(map.dimension, rng)
                let (p, w) = map.momenta(from: wrong ? Self.wrongPowerNumbers(r, particles: 3) : r, sqrtS: sqrtS)
                let x = (p[0] + p[1]).mass2, y = (p[1] + p[2]).mass2
                let i = min(bins - 1, Int((x - xRange.0) / dx)), j = min(bins - 1, Int((y - yRange.0) / dy))
                sumW[i * bins + j] += w; sumW2[i * bins + j] += w * w; counts[i * bins + j] += 1
            }
            var chi2 = 0.0, used = 0, unweighted = (observed: [Double](), expected: [Double]())
            for i in 0..<bins { for j in 0..<bins {
                let x0 = xRange.0 + Double(i) * dx, y0 = yRange.0 + Double(j) * dy
                guard inside(x0, y0), inside(x0 + dx, y0), inside(x0, y0 + dy), inside(x0 + dx, y0 + dy) else { continue }
                let expected = Double(count) * density * dx * dy
                chi2 += (sumW[i * bins + j] - expected) * (sumW[i * bins + j] - expected) / sumW2[i * bins + j]
                used += 1
                unweighted.observed.append(counts[i * bins + j]); unweighted.expected.append(expected)
            }}
            let p = gsl_cdf_chisq_Q(chi2, Double(used))
            print("3 massive bodies, wrong power \(wrong): weighted Dalitz chi2 \(chi2) / \(used), p \(p)")
            if wrong {
                XCTAssertLessThan(p, 1e-3, "the wrong power must fail the weighted Dalitz plot: chi2 \(chi2) / \(used)")
                continue
            }
            let flatCounts = unweighted.expected.map { $0 * unweighted.observed.reduce(0, +) / unweighted.expected.reduce(0, +) }
            let raw = chiSquare(observed: unweighted.observed, expected: flatCounts)
            print("3 massive bodies, unweighted: chi2 \(raw.chi2) / \(raw.dof), p \(raw.p)")
            XCTAssertGreaterThan(used, 100)
            XCTAssertGreaterThan(p, 1e-3, "weighted Dalitz chi2 \(chi2) / \(used) bins, seed 157")
            XCTAssertLessThan(raw.p, 1e-3, "unweighted massive Dalitz should not be flat: chi2 \(raw.chi2) / \(raw.dof)")
        }
    }

    // MARK: Parton fractions

    /// x1, x2 -> partonic total -> x1, x2 to 1e-12 over x in [1e-4, 1]^2 (log-uniform); the total
    /// has P^2 = x1 x2 s_had and P_z = (x1 - x2) sqrt(s_had) / 2; limits: x1 = x2 is at rest
    /// (beta = 0, y = 0), x1 = x2 = 1 is the whole collider energy, and swapping x1, x2 flips P_z.
    /// A 4-body event r -> lab -> (r, x1, x2) returns r and the fractions to 1e-9.
    func testPartonFractionsRoundTripAndLimits() throws {
        let sqrtSHad = 13_000.0
        let rng = RNGStream(seed: 158)
        for _ in 0..<10_000 {
            let x1 = pow(10, rng.uniform(-4, 0)), x2 = pow(10, rng.uniform(-4, 0))
            let f = PartonFractions(x1: x1, x2: x2), total = f.total(sqrtSHadronic: sqrtSHad)
            assertClose(total.mass2, x1 * x2 * sqrtSHad * sqrtSHad, rel: 1e-9)
            assertClose(total.pz, (x1 - x2) * sqrtSHad / 2, rel: 1e-12, abs: 1e-9)
            let back = PartonFractions(total: total, sqrtSHadronic: sqrtSHad)
            assertClose(back.x1, x1, rel: 1e-9); assertClose(back.x2, x2, rel: 1e-9)
            let swapped = PartonFractions(x1: x2, x2: x1).total(sqrtSHadronic: sqrtSHad)
            XCTAssertEqual(swapped.pz, -total.pz)
            let rest = f.toCentreOfMass(total)
            XCTAssertEqual(rest.pz, 0, accuracy: 1e-9 * total.e)
            assertClose(rest.e, f.sqrtSHat(sqrtSHadronic: sqrtSHad), rel: 1e-9)
        }
        let atRest = PartonFractions(total: FourMomentum(e: 130, px: 0, py: 0, pz: 0), sqrtSHadronic: sqrtSHad)
        assertClose(atRest.x1, 0.01); assertClose(atRest.x2, 0.01)
        XCTAssertEqual(atRest.beta, 0); XCTAssertEqual(atRest.rapidity, 0)
        let full = PartonFractions(x1: 1, x2: 1)
        assertClose(full.sqrtSHat(sqrtSHadronic: sqrtSHad), sqrtSHad)
        let edge = PartonFractions(total: PartonFractions(x1: 1, x2: 1e-4).total(sqrtSHadronic: sqrtSHad), sqrtSHadronic: sqrtSHad)
        assertClose(edge.x1, 1); assertClose(edge.x2, 1e-4)

        let map = try RamboOnDiet(masses: [173, 173, 80.4, 4.8])
        for _ in 0..<2_000 {
            let f = PartonFractions(x1: rng.uniform(0.05, 1), x2: rng.uniform(0.05, 1))
            let r = Self.uniform(map.dimension, rng)
            let (lab, w) = map.labMomenta(from: r, fractions: f, sqrtSHadronic: sqrtSHad)
            let total = lab.reduce(FourMomentum.zero, +), expected = f.total(sqrtSHadronic: sqrtSHad)
            XCTAssertEqual(total.e, expected.e, accuracy: 1e-9 * expected.e)
            XCTAssertEqual(total.pz, expected.pz, accuracy: 1e-9 * expected.e)
            let back = map.randomNumbers(fromLab: lab, sqrtSHadronic: sqrtSHad)
            assertClose(back.fractions.x1, f.x1, rel: 1e-9); assertClose(back.fractions.x2, f.x2, rel: 1e-9)
            assertClose(back.weight, w, rel: 1e-9)
            for (d, (a, b)) in zip(back.r, r).enumerated() {
                let isPhi = d >= 2 && (d - 2) % 2 == 1
                XCTAssertLessThanOrEqual(isPhi ? Self.circularDistance(a, b) : abs(a - b), 1e-9, "r[\(d)], seed 158")
            }
        }
    }
}
