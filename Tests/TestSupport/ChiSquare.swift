import CGSL

/// Pearson chi-square of a histogram against expected counts; bins expecting fewer than 5 events
/// are pooled into one bin. Returns (chi2, degrees of freedom, p-value = Q(chi2; dof), largest |pull|).
///
/// `expectedVariance`: the variance of each expected count when it is itself an estimate (an
/// importance-sampled histogram); it is added to the Poisson variance e of the observed count.
/// `totalFixed`: the expected counts are normalised to the observed total (one degree of freedom
/// fewer); false when they predict the total as well.
public func chiSquare(observed: [Double], expected: [Double], expectedVariance: [Double]? = nil,
                      totalFixed: Bool = true) -> (chi2: Double, dof: Int, p: Double, maxPull: Double) {
    var chi2 = 0.0, bins = 0, pooledObserved = 0.0, pooledExpected = 0.0, pooledVariance = 0.0, maxPull = 0.0
    for (i, (o, e)) in zip(observed, expected).enumerated() {
        let v = e + (expectedVariance?[i] ?? 0)
        if e < 5 { pooledObserved += o; pooledExpected += e; pooledVariance += v; continue }
        let pull = (o - e) / v.squareRoot()
        chi2 += pull * pull; bins += 1; maxPull = max(maxPull, abs(pull))
    }
    if pooledExpected > 0 {
        chi2 += (pooledObserved - pooledExpected) * (pooledObserved - pooledExpected) / pooledVariance; bins += 1
    }
    let dof = totalFixed ? bins - 1 : bins
    return (chi2, dof, gsl_cdf_chisq_Q(chi2, Double(dof)), maxPull)
}
