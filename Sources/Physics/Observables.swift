import Foundation
import Tensor

extension EventSample.Block {
    /// The four-momentum of object `name` (for example "l-", "q1", "j2") in `row`, from the
    /// columns pT_name, eta_name, phi_name and, if present, m_name; nil if the block lacks them
    /// or the object is a zero-padded slot (pT = 0).
    public func momentum(_ name: String, row: Int) -> FourMomentum? {
        guard let ipt = index(of: "pT_\(name)"), let ieta = index(of: "eta_\(name)"), let iphi = index(of: "phi_\(name)") else {
            return nil
        }
        let pt = self[row, ipt]
        guard pt > 0 else { return nil }
        let m = index(of: "m_\(name)").map { self[row, $0] } ?? 0
        return FourMomentum(pT: pt, eta: self[row, ieta], phi: self[row, iphi], mass: m)
    }
}

/// Derived observables by name: m_ll, m_jj (two leading jets or quarks), pT_j1, m_ZW.
public enum Observable: String, CaseIterable {
    case mLL = "m_ll", mJJ = "m_jj", pTLeadingJet = "pT_j1", mZW = "m_ZW"

    /// The value in one row, or nil if the block lacks the objects.
    public func value(_ block: EventSample.Block, row: Int) -> Double? {
        let jets = block.index(of: "pT_q1") != nil ? ("q1", "q2") : ("j1", "j2")
        switch self {
        case .mLL:
            guard let a = block.momentum("l-", row: row), let b = block.momentum("l+", row: row) else { return nil }
            return (a + b).mass
        case .mJJ:
            guard let a = block.momentum(jets.0, row: row), let b = block.momentum(jets.1, row: row) else { return nil }
            return (a + b).mass
        case .pTLeadingJet:
            return block.momentum(jets.0, row: row)?.pT
        case .mZW:
            guard let a = block.momentum("l-", row: row), let b = block.momentum("l+", row: row),
                  let c = block.momentum(jets.0, row: row), let d = block.momentum(jets.1, row: row) else { return nil }
            return (a + b + c + d).mass
        }
    }

    /// Values over all rows where defined.
    public func values(_ block: EventSample.Block) -> [Double] { (0..<block.rows).compactMap { value(block, row: $0) } }
}

/// The detector-level jet cuts of thesis eqs. 4.7, 4.8, 4.12, 4.13 (GeV).
public enum JetCut: String, CaseIterable {
    /// pT,j1 in 30..100.
    case I
    /// pT,j1 in 30..60 and pT,j2 in 30..50.
    case II
    /// pT,j1 in 30..50, pT,j2 in 30..40, pT,l- in 20..50.
    case III
    /// pT,j1 > 60.
    case IV

    public func passes(pTj1: Double, pTj2: Double, pTlMinus: Double) -> Bool {
        switch self {
        case .I: return (30...100).contains(pTj1)
        case .II: return (30...60).contains(pTj1) && (30...50).contains(pTj2)
        case .III: return (30...50).contains(pTj1) && (30...40).contains(pTj2) && (20...50).contains(pTlMinus)
        case .IV: return pTj1 > 60
        }
    }

    /// Per-row pass flags on a detector block with pT_j1, pT_j2, pT_l- columns.
    public func mask(_ detector: EventSample.Block) throws -> [Bool] {
        let names = ["pT_j1", "pT_j2", "pT_l-"]
        let idx = names.compactMap { detector.index(of: $0) }
        guard idx.count == 3 else {
            throw RefoldError.value("cut \(rawValue) columns", expected: "\(names)", actual: detector.columns)
        }
        return (0..<detector.rows).map { passes(pTj1: detector[$0, idx[0]], pTj2: detector[$0, idx[1]], pTlMinus: detector[$0, idx[2]]) }
    }

    /// Fraction of rows passing.
    public func passFraction(_ detector: EventSample.Block) throws -> Double {
        let m = try mask(detector)
        return m.isEmpty ? 0 : Double(m.filter { $0 }.count) / Double(m.count)
    }
}
