import Foundation
import Tensor
import TestSupport
import XCTest

/// The `ModelManifest` contract: a folder verifies while its files are those the manifest lists;
/// a changed, missing or unlisted file is refused naming it (and, for a change, both hashes); a
/// folder without a manifest loads; `refresh` follows new files and keeps the seed.
final class ModelManifestTests: XCTestCase {
    func assertRefused(_ folder: URL, naming file: String, _ words: [String], line: UInt = #line) {
        XCTAssertThrowsError(try ModelManifest.verify(folder), line: line) { error in
            let message = "\(error)"
            for word in [folder.appendingPathComponent(file).path] + words {
                XCTAssertTrue(message.contains(word), "\(message) does not say '\(word)'", line: line)
            }
        }
    }

    func testAFolderVerifiesOnlyWithTheFilesItsManifestLists() throws {
        let model = temporaryFolder()
        try Data("{\"seed\": 1}".utf8).write(to: model.appendingPathComponent("config.json"))
        try Data([1, 2, 3]).write(to: model.appendingPathComponent("checkpoint.safetensors"))
        try Data([9]).write(to: model.appendingPathComponent(".checkpoint.safetensors.tmp-42"))
        try ModelManifest.write(model, seed: 11)
        let manifest = try XCTUnwrap(try ModelManifest.verify(model))
        XCTAssertEqual(Set(manifest.files.keys), ["config.json", "checkpoint.safetensors"], "hidden temporaries are not covered")
        XCTAssertEqual(manifest.seed, 11)
        var fnv = FNV1a()
        fnv.mix([UInt8]([1, 2, 3]))
        XCTAssertEqual(manifest.files["checkpoint.safetensors"]?.fnv1a, fnv.hex)
        XCTAssertEqual(manifest.files["checkpoint.safetensors"]?.bytes, 3)

        // Another training's config: both hashes in the message.
        try Data("{\"seed\": 2}".utf8).write(to: model.appendingPathComponent("config.json"))
        var changed = FNV1a()
        changed.mix(Array("{\"seed\": 2}".utf8))
        assertRefused(model, naming: "config.json", [changed.hex, "expected \(manifest.files["config.json"]!.fnv1a)", "seed 11"])
        try Data("{\"seed\": 1}".utf8).write(to: model.appendingPathComponent("config.json"))
        XCTAssertNotNil(try ModelManifest.verify(model))

        try Data([0]).write(to: model.appendingPathComponent("encoder.safetensors"))
        assertRefused(model, naming: "encoder.safetensors", ["not in"])
        try ModelManifest.refresh(model)
        XCTAssertEqual(try ModelManifest.verify(model)?.seed, 11, "refresh keeps the seed")

        try FileManager.default.removeItem(at: model.appendingPathComponent("checkpoint.safetensors"))
        assertRefused(model, naming: "checkpoint.safetensors", ["missing"])
    }

    func testAFolderWithoutAManifestLoadsAndIsNotGivenOne() throws {
        let model = temporaryFolder()
        try Data([1]).write(to: model.appendingPathComponent("config.json"))
        XCTAssertNil(try ModelManifest.verify(model))
        try ModelManifest.refresh(model)
        XCTAssertFalse(FileManager.default.fileExists(atPath: ModelManifest.location(in: model).path))
    }
}
