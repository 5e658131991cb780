import Foundation
import Physics
import Tensor
import XCTest

/// The Pythia 8 + FastJet reference chain (scripts/pythia/zw_reference.py, issue 21 item 2): a
/// small run writes Refold's sample folders, which `refold inspect` reads with the columns of
/// `refold generate zw|zw-isr`, and whose events are physically sane. Skipped when python3 cannot
/// import the pythia8mc (or pythia8) and fastjet wheels (`make deps` installs them).
final class PythiaReferenceCLITests: RefoldCLITestCase {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/pythia/zw_reference.py")

    /// `python3 arguments` to its end: exit status and output (stdout and stderr together).
    func python(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process(), pipe = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    func skipUnlessTheChainIsInstalled() throws {
        let probe = "import numpy, fastjet\ntry:\n    import pythia8mc\nexcept ImportError:\n    import pythia8"
        let run = try python(["-c", probe])
        if run.status != 0 {
            let reason = run.output.split(separator: "\n").last.map(String.init) ?? "exit status \(run.status)"
            throw XCTSkip("the Pythia reference chain needs python3 with numpy, pythia8mc and fastjet (make deps installs them): \(reason)")
        }
    }

    /// The "NAME: K columns ..." lines of `refold inspect DIR`.
    func columnLines(_ folder: URL) throws -> [String] {
        try succeeds(["inspect", folder.path]).split(separator: "\n").map(String.init)
            .filter { $0.hasPrefix("parton:") || $0.hasPrefix("detector:") }
    }

    func testPythiaSamplesHaveRefoldsFormatAndSanePhysics() throws {
        try skipUnlessTheChainIsInstalled()
        let root = try folder()
        for (process, options) in [("zw", [String]()), ("zw-isr", ["--isr"])] {
            let out = root.appendingPathComponent("pythia-\(process)"), own = root.appendingPathComponent(process)
            let events = process == "zw" ? 200 : 100
            let run = try python([Self.script.path, "--events", "\(events)", "--seed", "5", "--out", out.path] + options)
            XCTAssertEqual(run.status, 0, run.output)
            try succeeds(["generate", process, "--events", "200", "--seed", "5", "--out", own.path])
            let columns = try columnLines(out)
            XCTAssertEqual(columns.count, 2)
            XCTAssertEqual(columns, try columnLines(own), "\(process): the Pythia folder's columns are Refold's")

            let sample = try EventSample.read(from: out)
            XCTAssertEqual(sample.count, events)
            let meta = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("meta.json"))) as? [String: Any])
            XCTAssertEqual(meta["source"] as? String, "pythia8")
            XCTAssertEqual(meta["generator"] as? String, process)
            let card = DetectorCard.atlas, detector = FastDetector(card: card)
            var onShell = 0
            for (hard, measured) in try sample.colliderEvents(source: out.path) {
                if abs((measured.leptonMinus + measured.leptonPlus).mass - 91.19) < 10 { onShell += 1 }
                XCTAssertGreaterThanOrEqual(hard.quark1.pT, hard.quark2.pT)
                XCTAssertGreaterThanOrEqual(measured.jets.count, 2)
                XCTAssertTrue(measured.jets.allSatisfy { $0.pT > card.jetMinimumPT && abs($0.eta) < card.jetMaximumEta })
                XCTAssertEqual(measured.jets.map(\.pT), measured.jets.map(\.pT).sorted(by: >))
                if process == "zw" {
                    XCTAssertEqual(measured.jets.count, 2)
                    XCTAssertNotNil(detector.match(quarks: (hard.quark1, hard.quark2), jets: measured.jets),
                                    "jets within Delta R \(card.matchRadius) of the quarks")
                }
            }
            // Bare leptons: photon radiation gives m_ll a low tail, the peak holds most events.
            XCTAssertGreaterThan(Double(onShell) / Double(events), 0.7, "\(process): m_ll within 10 GeV of m_Z")
            if process == "zw-isr" {
                let njets = try XCTUnwrap(sample.njets)
                XCTAssertTrue(njets.allSatisfy { (2...card.maximumJets).contains($0) })
                XCTAssertGreaterThan(njets.filter { $0 > 2 }.count, 10, "ISR makes third jets")
            }
        }
    }
}
