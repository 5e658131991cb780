import Foundation

/// FNV-1a 64: a fast, stable content hash (not cryptographic) for provenance records: a sample
/// folder's files, what a study trains.
public struct FNV1a {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    public mutating func mix<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        for byte in bytes { value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
    }

    /// The hash as 16 hex digits.
    public var hex: String { String(format: "%016llx", value) }
}
