import Autograd
import Foundation
import Physics
import Tensor
import TestSupport
import Validation
import XCTest

/// A seeded random-mutation fuzzer for every reader of outside input: npy, safetensors, the study
/// TOML, the detector card TOML (`DetectorCard.parse`) and LHE (issue [reliability]). libFuzzer (`-sanitize=fuzzer`) is
/// not used: the Swift 6.3 toolchain here links it only for executables built with the sanitizer
/// runtime, which SwiftPM test targets are not, so the harness is plain XCTest and a crash kills
/// the test process (which is the failure).
///
/// Each input is a seed (the golden files of `Tests/Fixtures/golden`, the shipped `Toys/*.toml`,
/// an LHE event) with 1-4 mutations: bit flips, bytes set to boundary values, truncation, a
/// duplicated or deleted slice, random bytes inserted, and for text a number replaced by an
/// extreme one (1e308, -1, 9223372036854775807, nan, 1e999). A reader must refuse the input with
/// an error or return a value that holds its own invariants (npy: values = product of the shape;
/// safetensors: every tensor's storage = product of its shape).
///
/// `make test` runs 5,000 inputs per reader (about 8 s in the debug build); `make fuzz` runs
/// REFOLD_FUZZ_INPUTS (default 1,000,000) per reader in the debug build, at most
/// REFOLD_FUZZ_SECONDS per reader when that is set (`make fuzz FUZZ_SECONDS=...`).
final class ParserFuzzTests: XCTestCase {
    static var inputs: Int { ProcessInfo.processInfo.environment["REFOLD_FUZZ_INPUTS"].flatMap(Int.init) ?? 5_000 }
    static let fuzzSeed = UInt64(ProcessInfo.processInfo.environment["REFOLD_FUZZ_SEED"].flatMap(UInt64.init) ?? 2026)
    /// REFOLD_FUZZ_SECONDS: a reader's run stops after this long even before REFOLD_FUZZ_INPUTS
    /// (a long run on a shared machine); the count printed is the inputs actually read.
    static var seconds: Double? { ProcessInfo.processInfo.environment["REFOLD_FUZZ_SECONDS"].flatMap(Double.init) }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func golden(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: repository.appendingPathComponent("Tests/Fixtures/golden/\(name)")))
    }
    static func toys() throws -> [(name: String, bytes: [UInt8])] {
        let folder = repository.appendingPathComponent("Toys")
        return try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".toml") }.sorted()
            .map { ($0, [UInt8](try Data(contentsOf: folder.appendingPathComponent($0)))) }
    }

    /// Mutations of a seed, deterministic in (seed, reader, input index).
    struct Mutator {
        let rng: RNGStream
        static let extremes = ["1e308", "-1", "9223372036854775807", "nan", "1e999", "-0", "0", "18446744073709551616", "inf"]
        static let boundaryBytes: [UInt8] = [0, 0xFF, 0x7F, 0x80, 0x22, 0x5B, 0x5D, 0x7B, 0x7D, 0x2C, 0x3A, 0x0A, 0x2D, 0x39]

        func index(_ n: Int) -> Int { n <= 0 ? 0 : Int(rng.uniform() * Double(n)) % n }

        func mutate(_ seed: [UInt8], text: Bool) -> [UInt8] {
            var bytes = seed
            for _ in 0...index(4) {
                guard !bytes.isEmpty else { break }
                switch index(text ? 7 : 6) {
                case 0: let i = index(bytes.count); bytes[i] ^= UInt8(1) << UInt8(index(8))
                case 1: bytes[index(bytes.count)] = Self.boundaryBytes[index(Self.boundaryBytes.count)]
                case 2: bytes.removeSubrange(index(bytes.count)...)
                case 3:
                    let a = index(bytes.count), b = min(bytes.count, a + 1 + index(64))
                    bytes.insert(contentsOf: bytes[a..<b], at: index(bytes.count))
                case 4:
                    let a = index(bytes.count), b = min(bytes.count, a + 1 + index(64))
                    bytes.removeSubrange(a..<b)
                case 5: bytes.insert(contentsOf: (0..<(1 + index(16))).map { _ in UInt8(index(256)) }, at: index(bytes.count))
                default:
                    // A run of digits (with sign, dot, exponent) replaced by an extreme number.
                    let digits = Set("0123456789.+-eE".utf8)
                    let starts = bytes.indices.filter { digits.contains(bytes[$0]) && ($0 == 0 || !digits.contains(bytes[$0 - 1])) }
                    guard !starts.isEmpty else { continue }
                    let a = starts[index(starts.count)]
                    var b = a
                    while b < bytes.count, digits.contains(bytes[b]) { b += 1 }
                    bytes.replaceSubrange(a..<b, with: Array(Self.extremes[index(Self.extremes.count)].utf8))
                }
            }
            return bytes
        }
    }

    /// Runs `inputs` mutations of the seeds through `read`, which throws to refuse an input and
    /// checks the invariants of what it accepts; returns (accepted, refused).
    func fuzz(_ reader: String, seeds: [[UInt8]], text: Bool, read: ([UInt8]) throws -> Void) -> (accepted: Int, refused: Int) {
        let rng = RNGStream(seed: Self.fuzzSeed).child("fuzz").child(reader)
        let mutator = Mutator(rng: rng)
        var accepted = 0, refused = 0
        let deadline = Self.seconds.map { Date().addingTimeInterval($0) }
        for i in 0..<Self.inputs {
            if let deadline, i % 100 == 0, Date() >= deadline { break }
            let input = mutator.mutate(seeds[i % seeds.count], text: text)
            // REFOLD_FUZZ_LAST=FILE keeps the input being read, so a crash leaves its crasher there.
            if let last = ProcessInfo.processInfo.environment["REFOLD_FUZZ_LAST"] { try? Data(input).write(to: URL(fileURLWithPath: last)) }
            do { try read(input); accepted += 1 } catch { refused += 1 }
        }
        let stopped = accepted + refused < Self.inputs ? " (stopped by REFOLD_FUZZ_SECONDS=\(Self.seconds ?? 0))" : ""
        print("fuzz \(reader): \(accepted + refused) inputs (seed \(Self.fuzzSeed)), \(accepted) accepted, \(refused) refused\(stopped)")
        return (accepted, refused)
    }

    struct InvariantBroken: Error { let what: String }

    func testNPYReader() throws {
        let seeds = try ["events-f32.npy", "events-f64.npy", "events-fortran.npy", "njets-i32.npy"].map(Self.golden)
        var broken: [String] = []
        let (_, refused) = fuzz("npy", seeds: seeds, text: false) { bytes in
            let array = try NPYArray.parse(Data(bytes), path: "fuzz.npy")
            if array.values.count != array.shape.reduce(1, *) { broken.append("shape \(array.shape), \(array.values.count) values") }
        }
        XCTAssertEqual(broken, [], "npy arrays whose values do not fill their shape")
        XCTAssertGreaterThan(refused, 0, "the mutations reach the reader's checks")
    }

    func testSafeTensorsReader() throws {
        let seeds = [try Self.golden("weights.safetensors")]
        var broken: [String] = []
        let (_, refused) = fuzz("safetensors", seeds: seeds, text: false) { bytes in
            let file = try SafeTensors.decode(Data(bytes), path: "fuzz.safetensors")
            for (name, t) in file.tensors where t.storage.count != t.shape.reduce(1, *) {
                broken.append("\(name): shape \(t.shape), \(t.storage.count) values")
            }
        }
        XCTAssertEqual(broken, [], "safetensors tensors whose storage does not fill their shape")
        XCTAssertGreaterThan(refused, 0)
    }

    func testStudySpecReader() throws {
        let seeds = try Self.toys().filter { !$0.name.hasPrefix("detector-") }.map(\.bytes)
        let (_, refused) = fuzz("study-toml", seeds: seeds, text: true) { bytes in
            _ = try StudySpec(text: String(decoding: bytes, as: UTF8.self), file: "fuzz.toml")
        }
        XCTAssertGreaterThan(refused, 0)
    }

    func testDetectorCardReader() throws {
        let seeds = try Self.toys().filter { $0.name.hasPrefix("detector-") }.map(\.bytes)
        XCTAssertEqual(seeds.count, 2, "Toys/detector-atlas.toml and Toys/detector-realistic.toml")
        let (_, refused) = fuzz("detector-card", seeds: seeds, text: true) { bytes in
            _ = try DetectorCard.parse(String(decoding: bytes, as: UTF8.self), path: "fuzz-card.toml")
        }
        XCTAssertGreaterThan(refused, 0)
    }

    func testLHEReader() throws {
        let lhe = Fixtures.zwLHE
        let (_, refused) = fuzz("lhe", seeds: [Array(lhe.utf8)], text: true) { bytes in
            let events = try LHEReader.parse(String(decoding: bytes, as: UTF8.self), path: "fuzz.lhe")
            _ = try LHEReader.zwPartonLevel(events)
        }
        XCTAssertGreaterThan(refused, 0)
    }
}
