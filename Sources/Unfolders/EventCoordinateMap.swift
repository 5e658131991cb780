import Foundation
import Physics
import Tensor

/// A map between the physical columns of an event block and the coordinates a network models,
/// applied to every row: `inverse(forward(x))` gives back the physical columns (possibly in another
/// column order) wherever `isExactlyInvertible` says so. Every map passes one round-trip harness
/// (Tests/UnfoldersTests/EventCoordinateMapTests.swift).
public protocol EventCoordinateMap {
    /// Physical columns -> network coordinates.
    func forward(_ block: EventSample.Block) throws -> EventSample.Block
    /// Network coordinates -> physical columns.
    func inverse(_ block: EventSample.Block) throws -> EventSample.Block
    /// Whether row `row` of the physical `block` maps back exactly (a quantile map clamps outside
    /// its fitted range). Default: every row.
    func isExactlyInvertible(_ block: EventSample.Block, row: Int) -> Bool
}

extension EventCoordinateMap {
    public func isExactlyInvertible(_ block: EventSample.Block, row: Int) -> Bool { true }
}

/// log(pT + offset) and standardisation (Physics): features are its forward direction.
extension FeatureMap: EventCoordinateMap {
    public func forward(_ block: EventSample.Block) throws -> EventSample.Block { try features(block) }
    public func inverse(_ block: EventSample.Block) throws -> EventSample.Block { try events(block) }
}

extension PairMassCoordinate: EventCoordinateMap {
    /// Inside the interior of the mass map and of the ratio map if any (their outer quantile
    /// intervals clamp).
    public func isExactlyInvertible(_ block: EventSample.Block, row: Int) -> Bool {
        guard let x = physicalMassAndRatio(block, row: row) else { return false }
        return massMap.isInterior(x.mass) && (ratioMap?.isInterior(x.logRatio) ?? true)
    }
}

extension ResonanceCoordinates: EventCoordinateMap {
    /// Inside the mass map's interior (its outer quantile intervals clamp).
    public func isExactlyInvertible(_ block: EventSample.Block, row: Int) -> Bool {
        guard let a = Particle(leading, block.columns), let b = Particle(subleading, block.columns) else { return false }
        let offset = row * block.columns.count
        let pair = a.momentum(block.values, row: offset) + b.momentum(block.values, row: offset)
        return massMap.isInterior(max(pair.mass, 0))
    }
}

extension AzimuthFrame: EventCoordinateMap {
    /// Into the frame of the reference object, one row per reference.
    func forward(_ block: EventSample.Block) throws -> EventSample.Block {
        try checkRows(block)
        return rotate(block, inverse: false)
    }

    /// Back to the lab frame.
    func inverse(_ block: EventSample.Block) throws -> EventSample.Block {
        try checkRows(block)
        return rotate(block, inverse: true)
    }

    private func checkRows(_ block: EventSample.Block) throws {
        guard block.rows == reference.count else {
            throw RefoldError.value("azimuth frame rows", expected: "\(reference.count) (one per reference)", actual: block.rows)
        }
    }
}

extension AngleResiduals {
    /// The residual map for the events of one detector block (one row per event), as an
    /// `EventCoordinateMap` for the round-trip harness.
    public struct Measured: EventCoordinateMap {
        public let residuals: AngleResiduals
        public let detector: EventSample.Block

        public func forward(_ block: EventSample.Block) throws -> EventSample.Block { try residuals.forward(block, detector: detector) }
        public func inverse(_ block: EventSample.Block) throws -> EventSample.Block { try residuals.inverse(block, detector: detector) }

        /// Inside every residual map's interior (their outer quantile intervals clamp).
        public func isExactlyInvertible(_ block: EventSample.Block, row: Int) -> Bool {
            residuals.residuals.allSatisfy { r in
                guard let j = block.index(of: r.parton), let k = detector.index(of: r.detector) else { return false }
                return r.map.isInterior(r.residual(block[row, j], measured: r.measured(detector, event: row, k: k, kd: r.denominator.flatMap(detector.index(of:)))))
            }
        }
    }

    public func measured(by detector: EventSample.Block) -> Measured { Measured(residuals: self, detector: detector) }
}
