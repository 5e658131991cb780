import Foundation
import XCTest
import Autograd
import TestSupport

/// Files Refold writes load in the reference implementations: `numpy.load` for .npy and
/// `safetensors.numpy.load_file` for checkpoints (../shared/golden/README.md). Skipped only when
/// python3 with numpy and safetensors is absent (`make deps` installs them).
final class PythonInteropTests: XCTestCase {
    /// Runs `script` with python3 and returns its standard output.
    private func python(_ script: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            if errorText.contains("No module named") || errorText.contains("No such file") {
                throw XCTSkip("python3 with numpy and safetensors is not installed: \(errorText)")
            }
            XCTFail("python3 failed: \(errorText)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    func testNumpyAndSafetensorsLoadRefoldFiles() throws {
        let folder = temporaryFolder()
        let weight = Tensor(shape: [2, 3], storage: [0.5, -1.25, 3, 1e-7, -0, 65504])
        let bias = Tensor(shape: [3], storage: [1, 2, 3])
        let checkpoint = folder.appendingPathComponent("w.safetensors")
        try SafeTensors.write([("layer0.weight", weight), ("layer0.bias", bias)], metadata: ["seed": "7"], to: checkpoint)
        let events = NPYArray(shape: [2, 2], values: [1.5, -2.25, 1e300, 0], dtype: .float64)
        let npy = folder.appendingPathComponent("e.npy")
        try events.write(to: npy)
        let script = """
        import json, numpy as np
        from safetensors.numpy import load_file
        from safetensors import safe_open
        t = load_file('\(checkpoint.path)')
        with safe_open('\(checkpoint.path)', 'np') as f: meta = f.metadata()
        e = np.load('\(npy.path)')
        print(json.dumps({'w': t['layer0.weight'].astype(float).tolist(), 'wshape': list(t['layer0.weight'].shape),
                          'b': t['layer0.bias'].astype(float).tolist(), 'dtype': str(t['layer0.weight'].dtype),
                          'meta': meta, 'e': e.tolist(), 'edtype': str(e.dtype)}))
        """
        let text = try python(script)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
        XCTAssertEqual(json["dtype"] as? String, "float32")
        XCTAssertEqual(json["wshape"] as? [Int], [2, 3])
        // Float32 values widen exactly to Double; compare as Float.
        XCTAssertEqual((json["w"] as? [[Double]])?.flatMap { $0 }.map(Float.init), weight.storage)
        XCTAssertEqual((json["b"] as? [Double])?.map(Float.init), bias.storage)
        XCTAssertEqual(json["meta"] as? [String: String], ["seed": "7"])
        XCTAssertEqual(json["edtype"] as? String, "float64")
        XCTAssertEqual((json["e"] as? [[Double]])?.count, 2)
    }
}
