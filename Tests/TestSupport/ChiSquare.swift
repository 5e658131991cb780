import CGSL

/// Pearson chi-square of a histogram against expected counts; bins expecting fewer than 5 events
/// are pooled into one bin. Returns (chi2, degrees of freedom, p-value = Q(chi2; dof), largest |pull|).
public func chiSquare(observed: [Double], expected: [Double]) -> (chi2: Double, dof: Int, p: Double, maxPull: Double) {
    var chi2 = 0.0, bins = 0, pooledObserved = 0.0, pooledExpected = 0.0, maxPull = 0.0
    for (o, e) in zip(observed, expected) {
        if e < 5 { pooledObserved += o; pooledExpected += e; continue }
        let pull = (o - e) / e.squareRoot()
        chi2 += pull * pull; bins += 1; maxPull = max(maxPull, abs(pull))
    }
    if pooledExpected > 0 {
        chi2 += (pooledObserved - pooledExpected) * (pooledObserved - pooledExpected) / pooledExpected; bins += 1
    }
    let dof = bins - 1        // the total is fixed
    return (chi2, dof, gsl_cdf_chisq_Q(chi2, Double(dof)), maxPull)
}
