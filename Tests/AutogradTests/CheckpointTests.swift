import XCTest
import Foundation
import Autograd
import TestSupport

/// Two named parameters in a nested module, as the flows will have.
final class TinyModule: Module {
    let weight: Variable, bias: Variable
    init(rng: RNGStream, outputs: Int = 3) {
        weight = Variable(Tensor.normal([outputs, 4], rng: rng.child("w")), requiresGrad: true)
        bias = Variable(Tensor.normal([outputs], rng: rng.child("b")), requiresGrad: true)
    }
    var parameters: [(name: String, variable: Variable)] { [("block0.subnet.weight", weight), ("block0.subnet.bias", bias)] }
}

final class CheckpointTests: XCTestCase {
    func trainedModuleAndOptimizer(seed: UInt64) -> (TinyModule, Adam) {
        let module = TinyModule(rng: RNGStream(seed: seed))
        let adam = Adam(module.parameters, learningRate: 1e-2)
        let x = Variable(Tensor.normal([8, 4], rng: RNGStream(seed: seed).child("x")))
        for _ in 0..<3 {
            adam.zeroGrad()
            backward(mean(square(linear(x, module.weight, module.bias))))
            adam.step()
        }
        return (module, adam)
    }

    func testRoundTripIsBitExact() throws {
        let (module, adam) = trainedModuleAndOptimizer(seed: 5)
        let url = temporaryFolder().appendingPathComponent("model.safetensors")
        try Checkpoint.save(module: module, optimizer: adam, metadata: ["study": "ring \"quoted\"", "seed": "5"], to: url)
        let fresh = TinyModule(rng: RNGStream(seed: 99))
        let restoredAdam = Adam(fresh.parameters, learningRate: 1e-2)
        let meta = try Checkpoint.load(into: fresh, optimizer: restoredAdam, from: url)
        XCTAssertEqual(meta["study"], "ring \"quoted\"")
        XCTAssertEqual(meta[Checkpoint.stepKey], "3")
        XCTAssertEqual(restoredAdam.stepCount, 3)
        for (a, b) in zip(module.parameters, fresh.parameters) {
            XCTAssertEqual(a.variable.value.storage.map(\.bitPattern), b.variable.value.storage.map(\.bitPattern), a.name)
        }
        for (a, b) in zip(adam.state, restoredAdam.state) {
            XCTAssertEqual(a.name, b.name)
            XCTAssertEqual(a.tensor.storage.map(\.bitPattern), b.tensor.storage.map(\.bitPattern), a.name)
        }
    }

    func testBytesFollowTheSafetensorsLayout() throws {
        let (module, adam) = trainedModuleAndOptimizer(seed: 6)
        let url = temporaryFolder().appendingPathComponent("layout.safetensors")
        try Checkpoint.save(module: module, optimizer: adam, metadata: ["k": "v"], to: url)
        let bytes = [UInt8](try Data(contentsOf: url))
        var n = 0
        for i in 0..<8 { n |= Int(bytes[i]) << (8 * i) }
        XCTAssertEqual(n % 8, 0, "header length \(n) must be a multiple of 8")
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? [String: Any])
        XCTAssertEqual((header["__metadata__"] as? [String: String])?["k"], "v")
        // Offsets: contiguous from 0 in data order, each holding 4 bytes per element, ending at the file end.
        let expected = module.parameters.map { ($0.name, $0.variable.shape) } + adam.state.map { ($0.name, $0.tensor.shape) }
        var offset = 0
        for (name, shape) in expected {
            let entry = try XCTUnwrap(header[name] as? [String: Any], "missing \(name)")
            XCTAssertEqual(entry["dtype"] as? String, "F32")
            XCTAssertEqual(entry["shape"] as? [Int], shape)
            XCTAssertEqual(entry["data_offsets"] as? [Int], [offset, offset + 4 * shape.reduce(1, *)], name)
            offset += 4 * shape.reduce(1, *)
        }
        XCTAssertEqual(header.count, expected.count + 1)
        XCTAssertEqual(bytes.count, 8 + n + offset)
        // First value little-endian at the data start.
        let first = module.parameters[0].variable.value.storage[0].bitPattern
        let stored = UInt32(bytes[8 + n]) | UInt32(bytes[9 + n]) << 8 | UInt32(bytes[10 + n]) << 16 | UInt32(bytes[11 + n]) << 24
        XCTAssertEqual(stored, first)
    }

    func testReadsGoldenFileWrittenByPythonSafetensors() throws {
        let folder = try XCTUnwrap(goldenFolder())
        let file = try SafeTensors.read(folder.appendingPathComponent("weights.safetensors"))
        let expected = try XCTUnwrap(JSONSerialization.jsonObject(
            with: Data(contentsOf: folder.appendingPathComponent("weights.expected.json"))) as? [String: [String: Any]])
        XCTAssertEqual(file.metadata["format"], "refold-golden")
        XCTAssertEqual(Set(file.tensors.keys), Set(expected.keys))
        for (name, entry) in expected {
            let t = try XCTUnwrap(file.tensors[name])
            XCTAssertEqual(t.shape, entry["shape"] as? [Int], name)
            // JSONSerialization on Linux may be off by ULPs in Double; after rounding to Float it is exact.
            let values = try XCTUnwrap(entry["values"] as? [Any]).map { Float(($0 as! NSNumber).doubleValue) }
            XCTAssertEqual(t.storage, values, name)
        }
    }

    func testMissingNameAndWrongShapeNameBoth() throws {
        let module = TinyModule(rng: RNGStream(seed: 1))
        let url = temporaryFolder().appendingPathComponent("m.safetensors")
        try SafeTensors.write([("block0.subnet.weight", module.weight.value)], to: url)
        XCTAssertThrowsError(try Checkpoint.load(into: module, from: url)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("block0.subnet.bias") && message.contains("[3]") && message.contains(url.path), message)
        }
        let wide = TinyModule(rng: RNGStream(seed: 2), outputs: 5)
        try Checkpoint.save(module: wide, to: url)
        XCTAssertThrowsError(try Checkpoint.load(into: module, from: url)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("block0.subnet.weight") && message.contains("[3, 4]") && message.contains("[5, 4]")
                          && message.contains(url.path), message)
        }
        XCTAssertEqual(module.weight.value, TinyModule(rng: RNGStream(seed: 1)).weight.value, "a failed load changes nothing")
    }

    func testRejectsCorruptHeaders() {
        var data = Data([0xFF, 0xFF, 0, 0, 0, 0, 0, 0]); data.append(contentsOf: [UInt8](repeating: 0x20, count: 8))
        XCTAssertThrowsError(try SafeTensors.decode(data, path: "bad.safetensors")) { XCTAssertTrue("\($0)".contains("bad.safetensors")) }
        let header = Data(#"{"x":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#.utf8)
        var f64 = Data(); withUnsafeBytes(of: UInt64(header.count).littleEndian) { f64.append(contentsOf: $0) }
        f64.append(header); f64.append(contentsOf: [UInt8](repeating: 0, count: 8))
        XCTAssertThrowsError(try SafeTensors.decode(f64, path: "f64.safetensors")) { XCTAssertTrue("\($0)".contains("F64"), "\($0)") }
    }

    /// A tensor of rank 4, offsets near Int64.max and a shape that overflows: errors naming the
    /// file and the tensor, never a precondition failure (issue [reliability] 1).
    func testRejectsOutOfRangeShapesAndOffsets() {
        func file(_ header: String, data: Int = 16) -> Data {
            let json = Data(header.utf8)
            var d = Data(); withUnsafeBytes(of: UInt64(json.count).littleEndian) { d.append(contentsOf: $0) }
            d.append(json); d.append(Data(count: data))
            return d
        }
        let cases = [
            (#"{"x":{"dtype":"F32","shape":[1,1,2,2],"data_offsets":[0,16]}}"#, "rank"),
            (#"{"x":{"dtype":"F32","shape":[4],"data_offsets":[9223372036854775800,9223372036854775807]}}"#, "data_offsets"),
            (#"{"x":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,16]}}"#, "Int.max"),
            (#"{"x":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}}"#, "negative"),
            (#"{"x":{"dtype":"F32","shape":[2.5],"data_offsets":[0,16]}}"#, "integers"),
        ]
        for (header, message) in cases {
            XCTAssertThrowsError(try SafeTensors.decode(file(header), path: "bad.safetensors"), header) { error in
                XCTAssertTrue("\(error)".contains("bad.safetensors") && "\(error)".contains(message), "\(header): \(error)")
            }
        }
    }

    /// A checkpoint with a NaN or infinite weight is refused on load, naming the tensor and the
    /// file, and the module keeps its weights ([reliability] 1, 3).
    func testRefusesNonFiniteWeights() throws {
        let url = temporaryFolder().appendingPathComponent("nan.safetensors")
        let module = TinyModule(rng: RNGStream(seed: 1))
        for bad in [Float.nan, .infinity] {
            var weight = module.weight.value
            weight.storage[1] = bad
            try SafeTensors.write(module.parameters.map { (name: $0.name, tensor: $0.name == "block0.subnet.weight" ? weight : $0.variable.value) }, to: url)
            XCTAssertThrowsError(try Checkpoint.load(into: module, from: url)) { error in
                XCTAssertTrue("\(error)".contains("nan.safetensors") && "\(error)".contains("block0.subnet.weight"), "\(error)")
            }
            XCTAssertEqual(module.weight.value, TinyModule(rng: RNGStream(seed: 1)).weight.value)
        }
    }
}
