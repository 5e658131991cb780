import Foundation

/// Cheap jet-substructure observables of a set of massless constituents, measured in energies and
/// angles to the jet axis (the direction of the summed three-momentum), as at an e+e- collider:
///     multiplicity n,
///     jet mass m = sqrt((sum p_i)^2),
///     width (girth) w = sum_i E_i theta_i / sum_i E_i,
///     p_T^D = sqrt(sum_i E_i^2) / sum_i E_i,
///     z_g: soft drop (beta = 0, z_cut = 0.1) on the Cambridge/Aachen tree (angular distance
///          theta_ij): walk down the harder (higher-energy) branch until a splitting has
///          min(E_1, E_2) / (E_1 + E_2) > z_cut; z_g is that fraction, 0 if none passes.
public struct JetShapes: Equatable {
    public var multiplicity: Double, mass: Double, width: Double, pTD: Double, zg: Double

    /// Column names (of `observables.npy`).
    public static let names = ["multiplicity", "mass", "width", "pT_D", "z_g"]
    public var values: [Double] { [multiplicity, mass, width, pTD, zg] }

    /// The soft-drop threshold of `zg`.
    public static let zCut = 0.1

    public init(_ constituents: [FourMomentum]) {
        let jet = constituents.reduce(FourMomentum.zero, +)
        let axis = JetShapes.unit(jet)
        var energy = 0.0, weightedAngle = 0.0, energy2 = 0.0
        for c in constituents {
            energy += c.e; energy2 += c.e * c.e
            weightedAngle += c.e * JetShapes.angle(JetShapes.unit(c), axis)
        }
        multiplicity = Double(constituents.count)
        mass = max(0, jet.mass)
        width = energy > 0 ? weightedAngle / energy : 0
        pTD = energy > 0 ? energy2.squareRoot() / energy : 0
        zg = JetShapes.softDropZ(constituents)
    }

    @inline(__always) static func unit(_ p: FourMomentum) -> (Double, Double, Double) {
        let n = p.p
        return n > 0 ? (p.px / n, p.py / n, p.pz / n) : (0, 0, 1)
    }

    /// The angle between two unit vectors (atan2 of |cross| and dot: accurate at small angles).
    @inline(__always) static func angle(_ a: (Double, Double, Double), _ b: (Double, Double, Double)) -> Double {
        let cx = a.1 * b.2 - a.2 * b.1, cy = a.2 * b.0 - a.0 * b.2, cz = a.0 * b.1 - a.1 * b.0
        return atan2((cx * cx + cy * cy + cz * cz).squareRoot(), a.0 * b.0 + a.1 * b.1 + a.2 * b.2)
    }

    /// z_g of soft drop on the Cambridge/Aachen clustering (O(n^3), fine for shower jets).
    public static func softDropZ(_ constituents: [FourMomentum]) -> Double {
        guard constituents.count > 1 else { return 0 }
        // Cluster: nodes hold a momentum and the indices of their two parents (-1 for leaves).
        var momenta = constituents, parents = Array(repeating: (-1, -1), count: constituents.count)
        var active = Array(constituents.indices)
        while active.count > 1 {
            var best = (Double.infinity, 0, 1)
            for a in 0..<active.count {
                let ua = unit(momenta[active[a]])
                for b in (a + 1)..<active.count {
                    let d = angle(ua, unit(momenta[active[b]]))
                    if d < best.0 { best = (d, a, b) }
                }
            }
            let i = active[best.1], j = active[best.2]
            momenta.append(momenta[i] + momenta[j]); parents.append((i, j))
            active.remove(at: best.2); active[best.1] = momenta.count - 1
        }
        // Decluster along the harder branch.
        var node = active[0]
        while parents[node].0 >= 0 {
            let (i, j) = parents[node]
            let ei = momenta[i].e, ej = momenta[j].e
            let z = min(ei, ej) / (ei + ej)
            if z > zCut { return z }
            node = ei >= ej ? i : j
        }
        return 0
    }
}
