import Foundation

/// cos(x) as a differentiable op built from existing ones (Autograd's `record` is internal):
/// c = cos(x / 8) by its Taylor series to x^12 (|x / 8| <= pi / 2 for |x| <= 4 pi: remainder
/// (pi/2)^14 / 14! < 1e-8), then three double-angle steps cos 2y = 2 cos^2 y - 1 (error x 64,
/// still < 1e-6 in Double; Float32 rounding dominates). |x| > 4 pi is clamped (zero gradient
/// there). d/dx follows from the ops: -sin x. Used for the differentiable m_jj of the GAN MMD
/// (m^2 = 2 pT1 pT2 (cosh d_eta - cos d_phi), thesis eq. 4.5).
public func ganCosine(_ x: Variable) -> Variable {
    let limit = Float(4 * Double.pi)
    let y = clamp(x, min: -limit, max: limit) * Float(1.0 / 8)
    let u = square(y)
    // Horner: 1 - u/2! + u^2/4! - u^3/6! + u^4/8! - u^5/10! + u^6/12!
    let coefficients: [Float] = [1, -1.0 / 2, 1.0 / 24, -1.0 / 720, 1.0 / 40_320, -1.0 / 3_628_800, 1.0 / 479_001_600]
    var c = u * coefficients[6] + coefficients[5]
    for k in stride(from: 4, through: 0, by: -1) { c = c * u + coefficients[k] }
    for _ in 0..<3 { c = 2 * square(c) - 1 }
    return c
}

/// cosh(x) = (e^x + e^-x) / 2 from existing ops.
public func ganHyperbolicCosine(_ x: Variable) -> Variable {
    (exp(x) + exp(-1 * x)) * Float(0.5)
}
