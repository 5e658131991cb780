import Foundation
import Validation
import XCTest

/// The runner described these figures for Reporting to draw (names without extension).
func assertFigures(_ result: StudyResult, _ names: [String], file: StaticString = #filePath, line: UInt = #line) {
    let figures = Set(result.figures.map(\.name))
    for name in names { XCTAssertTrue(figures.contains(name), "figure \(name) in \(figures.sorted())", file: file, line: line) }
}

/// Data files the runner wrote into its report folder.
func assertFiles(_ folder: URL, _ names: [String], file: StaticString = #filePath, line: UInt = #line) {
    for name in names {
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path), "missing \(name)", file: file, line: line)
    }
}
