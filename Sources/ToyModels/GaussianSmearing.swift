import CFFTW
import CGSL
import Tensor

/// Gaussian smearing of a binned spectrum with equal bin widths Delta: each bin's content moves
/// to bin i + k with weight K_k = Phi((k + 1/2) Delta / sigma) - Phi((k - 1/2) Delta / sigma)
/// (content taken at the bin centre), |k| <= ceil(8 sigma / Delta). Contents pushed past either
/// end are lost (an acceptance), so the output has the input's length.
public enum GaussianSmearing {
    /// The kernel K_{-K...K}, centre at index K.
    public static func kernel(binWidth: Double, sigma: Double) throws -> [Double] {
        guard binWidth > 0, sigma > 0, binWidth.isFinite, sigma.isFinite else {
            throw RefoldError.value("GaussianSmearing binWidth, sigma", expected: "positive finite values", actual: "\(binWidth), \(sigma)")
        }
        let reach = Int((8 * sigma / binWidth).rounded(.up))
        return (-reach...reach).map { k in
            gsl_cdf_gaussian_P((Double(k) + 0.5) * binWidth, sigma) - gsl_cdf_gaussian_P((Double(k) - 0.5) * binWidth, sigma)
        }
    }

    /// Smearing by zero-padded linear convolution with FFTW (r2c / c2r plans).
    public static func fft(_ spectrum: [Double], binWidth: Double, sigma: Double) throws -> [Double] {
        let k = try kernel(binWidth: binWidth, sigma: sigma)
        let n = spectrum.count, reach = (k.count - 1) / 2
        guard n > 0 else { return [] }
        let length = n + k.count - 1              // full linear convolution, no wrap-around
        let half = length / 2 + 1
        let signal = fftw_alloc_real(length)!, filter = fftw_alloc_real(length)!
        let signalHat = fftw_alloc_complex(half)!, filterHat = fftw_alloc_complex(half)!
        defer { fftw_free(signal); fftw_free(filter); fftw_free(signalHat); fftw_free(filterHat) }
        let estimate = UInt32(1 << 6)            // FFTW_ESTIMATE: plan without overwriting the buffers
        let forwardSignal = fftw_plan_dft_r2c_1d(Int32(length), signal, signalHat, estimate)
        let forwardFilter = fftw_plan_dft_r2c_1d(Int32(length), filter, filterHat, estimate)
        let backward = fftw_plan_dft_c2r_1d(Int32(length), signalHat, signal, estimate)
        defer { fftw_destroy_plan(forwardSignal); fftw_destroy_plan(forwardFilter); fftw_destroy_plan(backward) }
        for i in 0..<length {
            signal[i] = i < n ? spectrum[i] : 0
            filter[i] = i < k.count ? k[i] : 0
        }
        fftw_execute(forwardSignal)
        fftw_execute(forwardFilter)
        for m in 0..<half {
            let (a, b) = signalHat[m], (c, d) = filterHat[m]
            signalHat[m] = (a * c - b * d, a * d + b * c)
        }
        fftw_execute(backward)                    // c2r destroys signalHat: not needed any more
        let scale = 1 / Double(length)
        return (0..<n).map { signal[$0 + reach] * scale }
    }

    /// The same smearing by direct summation, out_i = sum_j s_j K_{i - j}: the reference for `fft`.
    public static func direct(_ spectrum: [Double], binWidth: Double, sigma: Double) throws -> [Double] {
        let k = try kernel(binWidth: binWidth, sigma: sigma)
        let reach = (k.count - 1) / 2, n = spectrum.count
        return (0..<n).map { i in
            var sum = 0.0
            for j in max(0, i - reach)...min(n - 1, i + reach) where n > 0 { sum += spectrum[j] * k[i - j + reach] }
            return sum
        }
    }
}
