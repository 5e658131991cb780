import Foundation
import Tensor
@testable import Unfolders
import XCTest

/// Issue 20, case 4: a fresh `refold train` never writes into another training's model folder
/// without `--force`, `--resume` needs the model and repeats its options, and temporaries left by
/// a killed process are removed when a training resumes.
final class TrainingRecordTests: XCTestCase {
    let options = TrainingRecord(options: ["network": "cinn", "--seed": "7", "--batch-size": "64", "--pair-coordinates": "mass-ratio"])

    func root() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("refold-training-record-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func assertRefused(_ body: () throws -> Void, naming path: String, _ words: [String], line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { error in
            let message = "\(error)"
            for word in [path] + words { XCTAssertTrue(message.contains(word), "\(message) does not contain '\(word)'", line: line) }
        }
    }

    /// A folder that a first training left: its record, a checkpoint and the manifest that
    /// `TrainingLoop` rewrites after it.
    func trainedModel(in root: URL) throws -> URL {
        let model = root.appendingPathComponent("model")
        try options.prepare(model, resume: false, force: false)
        try writeAtomically(Data([1, 2, 3]), to: model.appendingPathComponent("checkpoint.safetensors"))
        try ModelManifest.refresh(model)
        return model
    }

    func testAFreshTrainingRefusesAnExistingModelWithoutForce() throws {
        let model = try trainedModel(in: try root())
        assertRefused({ try self.options.prepare(model, resume: false, force: false) }, naming: model.path, ["exists", "--resume", "--force"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: model.appendingPathComponent("checkpoint.safetensors").path))
        try options.prepare(model, resume: false, force: true)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: model.path)), [TrainingRecord.fileName, ModelManifest.fileName])
        XCTAssertEqual(try ModelManifest.verify(model)?.seed, 7, "a fresh training starts its manifest with the seed")
    }

    /// A checkpoint of another training copied over this one's: `--resume` refuses it before
    /// reading anything, naming the file.
    func testResumeRefusesAFolderThatDisagreesWithItsManifest() throws {
        let model = try trainedModel(in: try root())
        try writeAtomically(Data([4, 5, 6]), to: model.appendingPathComponent("checkpoint.safetensors"))
        assertRefused({ try self.options.prepare(model, resume: true, force: false) },
                      naming: model.appendingPathComponent("checkpoint.safetensors").path, ["different trainings"])
    }

    func testForceReplacesOnlyAModel() throws {
        let folder = try root()
        try writeAtomically("keep me", to: folder.appendingPathComponent("notes.txt"))
        assertRefused({ try self.options.prepare(folder, resume: false, force: true) }, naming: folder.path, ["is not a model"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("notes.txt").path))
    }

    func testARunThatStoppedBeforeTrainingLeavesAFreeFolder() throws {
        let model = try root().appendingPathComponent("model")
        try options.prepare(model, resume: false, force: false)
        XCTAssertNoThrow(try options.prepare(model, resume: false, force: false))
        assertRefused({ try self.options.prepare(model, resume: true, force: false) }, naming: model.path, ["missing", "--resume"])
    }

    func testAFailedFreshRunLeavesNoFolder() throws {
        let model = try root().appendingPathComponent("model")
        try options.prepare(model, resume: false, force: false)
        options.discardIfUnused(model)
        XCTAssertFalse(FileManager.default.fileExists(atPath: model.path))
        let trained = try trainedModel(in: try root())
        options.discardIfUnused(trained)
        XCTAssertTrue(FileManager.default.fileExists(atPath: TrainingRecord.location(of: trained).path))
    }

    func testResumeRefusesAMissingModel() throws {
        let model = try root().appendingPathComponent("nothing-here")
        assertRefused({ try self.options.prepare(model, resume: true, force: false) }, naming: model.path, ["missing"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: model.path))
    }

    func testResumeRefusesChangedOptionsNamingBothValues() throws {
        let model = try trainedModel(in: try root())
        var changed = options
        changed.options["--batch-size"] = "128"
        changed.options["--pair-coordinates"] = "per-parton"
        assertRefused({ try changed.prepare(model, resume: true, force: false) }, naming: model.path,
                      ["--batch-size 128 (the model was trained with 64)", "--pair-coordinates per-parton (the model was trained with mass-ratio)"])
    }

    func testResumeWithTheSameOptionsRemovesStaleTemporaries() throws {
        let model = try trainedModel(in: try root())
        let stale = model.appendingPathComponent(".checkpoint.safetensors.tmp-999999999")
        XCTAssertTrue(FileManager.default.createFile(atPath: stale.path, contents: Data([0])))
        try options.prepare(model, resume: true, force: false)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale.path))
    }

    func testASingleFileModelKeepsItsRecordBesideIt() throws {
        let folder = try root()
        let binn = folder.appendingPathComponent("binn.safetensors")
        XCTAssertEqual(TrainingRecord.location(of: binn).lastPathComponent, "binn.safetensors.train-options.json")
        try options.prepare(binn, resume: false, force: false)
        try writeAtomically(Data([1]), to: binn)
        assertRefused({ try self.options.prepare(binn, resume: false, force: false) }, naming: binn.path, ["exists"])
        try options.prepare(binn, resume: false, force: true)
        XCTAssertFalse(FileManager.default.fileExists(atPath: binn.path))
        XCTAssertEqual(try TrainingRecord.read(at: binn), options)
    }
}
