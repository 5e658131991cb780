import CGSL
import Flows
import Foundation
import Tensor
import Unfolders
import ToyModels
import Validation

/// Gaussian half-ring, mu = 4, w = 1 (thesis sec. 6.3.3, eq. 6.28-6.31): density and sigma_pred
/// on a Cartesian grid; along rays, the radial fit of the learned density (mu, w) and the
/// uncertainty fit of eq. 6.31 (Δmu, Δw).
public enum RingStudy {
    /// p along a ray: Gauss(r; mu, w) / (pi r A(mu, w)), A = Phi(mu / w).
    static func rayDensity(_ r: Double, mu: Double, w: Double) -> Double {
        gsl_ran_gaussian_pdf(r - mu, w) / (Double.pi * r * gsl_cdf_ugaussian_P(mu / w))
    }

    /// Eq. 6.31 added in quadrature, both terms carrying p(r) = G(r)/(pi r A):
    /// sigma^2 = (p (mu - r)/w^2 Δmu)^2 + (p ((r - mu)^2/w^3 - 1/w) Δw)^2.
    static func uncertaintyModel(mu: Double, w: Double) -> (Double, [Double]) -> Double {
        { r, p in
            let g = rayDensity(r, mu: mu, w: w)
            let a = g * (mu - r) / (w * w) * p[0], b = g * ((r - mu) * (r - mu) / (w * w * w) - 1 / w) * p[1]
            return (a * a + b * b).squareRoot()
        }
    }

    public static func run(_ spec: StudySpec, _ context: StudyContext) throws -> StudyResult {
        let g = context.generator
        let toy = GaussianRing(mu: try g.number("radius", default: 4), w: try g.number("width", default: 1))
        var result = StudyResult()
        let (model, s) = try BINNStudy.trainOnToy(toy, context: context, result: &result)

        // Grid; interior: y > 0.5 (the phi = 0, pi edge excluded) and p > 1 % of the maximum.
        let reach = toy.mu + 2.5 * toy.w
        let nx = 48, ny = 24
        let (points, bins) = try BINNStudy.grid(x: -reach...reach, y: 0...reach, nx: nx, ny: ny)
        let estimate = try model.density(at: points, draws: s.draws, rng: context.rng.child("draws"))
        let truth = (0..<points.rows).map { toy.density(x: Double(points[$0, 0]), y: Double(points[$0, 1])) }
        let peak = truth.max() ?? 1
        let interior = (0..<points.rows).map { Double(points[$0, 1]) > 0.5 && truth[$0] > 0.01 * peak }
        let band = try BINNStudy.bandCheck(model, at: points, estimate: estimate, truth: truth, mask: interior, draws: s.draws,
                                           rng: context.rng.child("noise"))
        result.measure("density-in-band", band.measured)
        result.notes.append("|p_BINN - p_true| <= 2 sigma_pred at \(format(100 * band.fraction)) % of \(band.points) interior grid points (y > 0.5, p > 1 % of max)")

        // Rays at five angles, averaged (fig. 6.6), for `minimumSets` independent sets of M draws
        // (the first plotted): the mean of the fitted mu over the sets with its standard error, and
        // the extrema of the pooled sigma_pred with their jackknife noise.
        let sets = try (0..<BINNStudy.minimumSets).map { k in
            try rays(model, toy: toy, draws: s.draws, rng: k == 0 ? context.rng.child("draws") : context.rng.child("redraws").child(index: k))
        }
        let first = sets[0]
        let (rs, density, sigma, spread, densityFit) = (first.rs, first.density, first.sigma, first.spread, first.densityFit)
        let mu = densityFit.parameters[0], w = abs(densityFit.parameters[1])
        result.measure("ring-mu", Measured(repeated: sets.map(\.densityFit.parameters[0])))
        result.notes.append("radial density fit: mu = \(format(mu)) ± \(format(densityFit.errors[0])), w = \(format(w)) ± \(format(densityFit.errors[1])), chi2/ndf = \(format(densityFit.chi2PerNdf)) (errors: sigma_pred)")
        let uncertaintyFit = try NonlinearFit.fit(x: rs, y: sigma, sigma: spread, initial: [0.05, 0.05], model: uncertaintyModel(mu: mu, w: w))
        let absolute = (parameters: uncertaintyFit.parameters.map(abs), chi2PerNdf: uncertaintyFit.chi2PerNdf, fit: uncertaintyFit)
        result.notes.append("eq. 6.31 fit: " + BINNStudy.describe(absolute.fit, names: ["Δmu", "Δw"]))

        let curves = sets.map(\.sigma)
        let minimum = BINNStudy.pooledExtremum(rs, curves: curves, in: (toy.mu - 0.6 * toy.w)...(toy.mu + 0.6 * toy.w))
        let inner = BINNStudy.pooledExtremum(rs, curves: curves, in: (toy.mu - 1.8 * toy.w)...(toy.mu - 0.4 * toy.w), sign: -1)
        let outer = BINNStudy.pooledExtremum(rs, curves: curves, in: (toy.mu + 0.4 * toy.w)...(toy.mu + 1.8 * toy.w), sign: -1)
        result.measure("sigma-minimum", minimum)
        result.measure("sigma-maximum-inner", inner)
        result.measure("sigma-maximum-outer", outer)
        result.notes.append("sigma_pred along rays, \(sets.count) sets of M = \(s.draws) draws pooled (jackknife noise): minimum at r = \(format(minimum.value)) ± \(format(minimum.noise)), maxima at r = \(format(inner.value)) ± \(format(inner.noise)) and \(format(outer.value)) ± \(format(outer.noise)) (thesis: mu = 4, mu ± w = 3, 5; nan: no interior extremum in its window in some set)")

        try BINNStudy.writeCSV([("r", rs), ("density", density), ("sigma_pred", sigma), ("sigma_spread", spread),
                                ("truth", rs.map { toy.radialDensity($0) / (Double.pi * $0) })], to: try context.file("rays.csv"))
        try BINNStudy.writeCSV([("x", (0..<points.rows).map { Double(points[$0, 0]) }), ("y", (0..<points.rows).map { Double(points[$0, 1]) }),
                                ("density", estimate.density), ("sigma_pred", estimate.sigma), ("truth", truth)], to: try context.file("grid.csv"))
        result.dataFiles += ["rays.csv", "grid.csv"]
        result.add(try Plot.heatMap(title: "ring: BINN density", xLabel: "x", yLabel: "y", zLabel: "p(x, y)",
                                              bins: bins, values: BINNStudy.matrix(estimate.density, nx: nx, ny: ny)), name: "density")
        result.add(try Plot.heatMap(title: "ring: sigma_pred", xLabel: "x", yLabel: "y", zLabel: "{/Symbol s}_{pred}",
                                              bins: bins, values: BINNStudy.matrix(estimate.sigma, nx: nx, ny: ny)), name: "sigma-pred")
        result.add(try Plot.fit(title: "ring: uncertainty fit, eq. 6.31", xLabel: "r", yLabel: "{/Symbol s}_{pred}", series: [
            Plot.FitSeries(label: "BINN {/Symbol s}_{pred}, mean of 5 rays", x: rs, y: sigma, sigma: spread, fit: uncertaintyFit,
                           model: uncertaintyModel(mu: mu, w: w)),
        ]), name: "sigma-fit")
        result.add(try Plot.fit(title: "ring: density along rays", xLabel: "r", yLabel: "p(x, y)", series: [
            Plot.FitSeries(label: "BINN p ± {/Symbol s}_{pred}", x: rs, y: density, sigma: sigma, fit: densityFit) { r, p in rayDensity(r, mu: p[0], w: abs(p[1])) },
        ]), name: "density-fit")
        return result
    }

    /// Density and sigma_pred along five rays, averaged, with the radial fit.
    struct Rays {
        var rs: [Double], density: [Double], sigma: [Double], spread: [Double]
        var densityFit: FitResult
    }

    /// sigma_pred is flat around its extrema: a step of 1/64 in r (not 1/16) locates them well
    /// within the 0.1 tolerance.
    static func rays(_ model: BINNModel, toy: GaussianRing, draws: Int, rng: RNGStream) throws -> Rays {
        let rs = (0..<321).map { 1.5 + 5 * Double($0) / 320 }
        let angles = [1.0, 2.0, 3.0, 4.0, 5.0].map { $0 * Double.pi / 6 }
        var storage = [Float]()
        for phi in angles { for r in rs { storage += [Float(r * cos(phi)), Float(r * sin(phi))] } }
        let rays = try model.density(at: Tensor(shape: [rs.count * angles.count, 2], storage: storage), draws: draws, rng: rng)
        let k = Double(angles.count)
        var density = [Double](), sigma = [Double](), spread = [Double]()
        for i in rs.indices {
            let p = angles.indices.map { rays.density[$0 * rs.count + i] }, e = angles.indices.map { rays.sigma[$0 * rs.count + i] }
            let pm = p.reduce(0, +) / k, em = e.reduce(0, +) / k
            density.append(pm); sigma.append(em)
            spread.append(max((e.reduce(0) { $0 + ($1 - em) * ($1 - em) } / (k - 1)).squareRoot(), 0.01 * em, 1e-9))
        }
        let densityFit = try NonlinearFit.fit(x: rs, y: density, sigma: sigma.map { max($0, 1e-6) }, initial: [toy.mu, toy.w]) { r, p in
            rayDensity(r, mu: p[0], w: abs(p[1]))
        }
        return Rays(rs: rs, density: density, sigma: sigma, spread: spread, densityFit: densityFit)
    }
}
