import Flows
import Foundation
import Physics
import Tensor
import Unfolders
import Validation

/// ZW with initial-state radiation (thesis sec. 5.4): one cINN for 2, 3 and 4+ detector jets
/// (zero-padded jet slots plus the one-hot jet count as condition). Reports the unfolded W peak
/// and pT spectra per jet multiplicity, and the transverse balance of the unfolded hard process.
///
/// Gates: `transverse-imbalance` = median over unfolded samples of |sum pT vector| / sum pT of
/// l-, l+, q1, q2 (the truth's own is 0: the parton level is the hard process before the ISR
/// recoil), `m-jj-median-shift-<n>j` = |median unfolded m_jj - median truth m_jj| per
/// multiplicity.
public enum ZWISRStudy {
    public static func run(_ spec: StudySpec, _ context: StudyContext) throws -> StudyResult {
        let net = context.network
        let k = net.samplesPerEvent ?? 20
        let (training, test) = try ZWStudySupport.trainingAndTest(.zwISR, context)
        let truth = test.parton!, njets = test.njets!
        var result = StudyResult()

        let (model, unfolded) = try ZWStudySupport.trainAndUnfold(.cinnISR, name: "cinn-isr", label: "cINN-ISR", training: training, test: test,
                                                                  samples: k, unfoldStream: "unfold", context: context)
        ZWStudySupport.recordSupport(model, unfolded, into: &result)

        let spectra = ZWStudySupport.zwSpectra.filter { $0.name != "dphi_jj" }
        for n in UnfoldingModel.jetCounts {
            let rows = (0..<test.count).filter { min(njets[$0], 4) == n }
            guard !rows.isEmpty else { result.notes.append("no test events with \(n) jets"); continue }
            var parts: [String] = []
            for shared in spectra {
                // These plots define no gate: bins as fine as this multiplicity's truth allows.
                var spectrum = shared
                let range = shared.edges.first!...shared.edges.last!
                spectrum.edges = finestUniformEdges(rows.compactMap { shared.value(truth, $0) }, range: range)
                let c = try ZWStudySupport.compare(spectrum, truth: truth, unfolded: unfolded, rows: rows,
                                                   rng: context.rng.child("floor-\(n)-\(spectrum.name)"))
                parts.append("\(spectrum.name) max dev. \(format(c.maxDeviation)) (floor \(format(c.floor)))")
                result.figures.append(try ZWStudySupport.plot(c, title: "ZW + ISR, \(n)\(n == 4 ? "+" : "") jets: \(spectrum.name)",
                                                            label: "cINN unfolded", name: "isr-\(n)j-\(spectrum.name)",
                                                            ))
            }
            let unfoldedMasses = rows.flatMap { i in (0..<k).compactMap { massJJ(unfolded, event: i, sample: $0) } }
            let truthMasses = rows.compactMap { Physics.Observable.mJJ.value(truth, row: $0) }
            let shift = abs(median(unfoldedMasses) - median(truthMasses))
            // Noise: both medians' standard errors over the events, in quadrature (they share events: an upper estimate).
            let noise = (pow(medianNoise(unfoldedMasses, events: rows.count), 2) + pow(medianNoise(truthMasses, events: rows.count), 2)).squareRoot()
            result.measure("m-jj-median-shift-\(n)j", shift, noise: noise)
            result.notes.append("\(n)\(n == 4 ? "+" : "") jets (\(rows.count) events): m_jj median shift \(format(shift)) GeV; " + parts.joined(separator: ", "))
        }
        let all = try ZWStudySupport.compare(spectra[0], truth: truth, unfolded: unfolded, rng: context.rng.child("floor-all"))
        result.notes.append("all multiplicities: pT_q1 max |unfolded/truth - 1| = \(format(all.maxDeviation)), floor \(format(all.floor))")

        let block = unfolded.block
        let imbalance = median((0..<block.rows).map { relativeImbalance(block, row: $0) })
        let truthImbalance = median((0..<truth.rows).map { relativeImbalance(truth, row: $0) })
        // Reference: quarks taken from another event (all correlations with the leptons lost).
        let shuffled = context.rng.child("decorrelated").permutation(truth.rows)
        let decorrelated = median((0..<truth.rows).map { relativeImbalance(truth, row: $0, quarksFrom: shuffled[$0]) })
        result.measure("transverse-imbalance", imbalance, noise: medianNoise((0..<block.rows).map { relativeImbalance(block, row: $0) }, events: truth.rows))
        result.notes.append("median |sum pT| / sum pT: unfolded \(format(imbalance)), truth \(format(truthImbalance)), quarks from a random other event \(format(decorrelated))")
        return result
    }

    static func massJJ(_ u: UnfoldedSamples, event i: Int, sample k: Int) -> Double? {
        func p(_ name: String) -> FourMomentum? {
            guard let a = u.columns.firstIndex(of: "pT_\(name)"), let b = u.columns.firstIndex(of: "eta_\(name)"),
                  let c = u.columns.firstIndex(of: "phi_\(name)") else { return nil }
            return FourMomentum(pT: u[event: i, sample: k, column: a], eta: u[event: i, sample: k, column: b],
                                phi: u[event: i, sample: k, column: c], mass: 0)
        }
        guard let a = p("q1"), let b = p("q2") else { return nil }
        return (a + b).mass
    }

    /// |sum_i pT_i (vector)| / sum_i pT_i over l-, l+, q1, q2 (quarks optionally from row `quarksFrom`).
    static func relativeImbalance(_ block: EventSample.Block, row: Int, quarksFrom other: Int? = nil) -> Double {
        var px = 0.0, py = 0.0, scalar = 0.0
        for name in ["l-", "l+", "q1", "q2"] {
            let r = name.hasPrefix("q") ? (other ?? row) : row
            guard let i = block.index(of: "pT_\(name)"), let j = block.index(of: "phi_\(name)") else { continue }
            let pt = block[r, i], phi = block[r, j]
            px += pt * Foundation.cos(phi); py += pt * Foundation.sin(phi); scalar += pt
        }
        return scalar > 0 ? (px * px + py * py).squareRoot() / scalar : .nan
    }

    static func median(_ values: [Double]) -> Double {
        let v = values.filter(\.isFinite).sorted()
        guard !v.isEmpty else { return .nan }
        return v.count % 2 == 1 ? v[v.count / 2] : 0.5 * (v[v.count / 2 - 1] + v[v.count / 2])
    }

    /// The standard error of the median of `values` drawn from `events` independent events (K
    /// samples of one event are not independent): 1 / (2 f(median) sqrt(events)), with the density
    /// f at the median from the share of values within a quarter interquartile range of it.
    static func medianNoise(_ values: [Double], events: Int) -> Double {
        let v = values.filter(\.isFinite).sorted()
        guard v.count >= 8, events > 0 else { return .nan }
        let m = median(v), h = (v[3 * v.count / 4] - v[v.count / 4]) / 4
        guard h > 0 else { return 0 }
        let density = Double(v.filter { abs($0 - m) <= h }.count) / (Double(v.count) * 2 * h)
        return 1 / (2 * density * Double(events).squareRoot())
    }
}
