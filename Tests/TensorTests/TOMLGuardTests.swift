import Foundation
import Tensor
import XCTest

/// `TOMLGuard` refuses the table headers that make toml++ abort (found by `ParserFuzzTests`) with
/// the file and line, and lets through what only looks like a header: array lines of a multi-line
/// value and text inside strings.
final class TOMLGuardTests: XCTestCase {
    func testRefusesHeadersThatCannotStartAKey() {
        for (text, line) in [("a = 1\n\n[;study]\n", 3), ("[[ %x]]\n", 1), ("# c\n  [\u{0}a]\n", 2), ("s = \"x\"\n[ .a]", 2), ("[a]\nx = [1, }]\n", 2), ("x = {a = [\n}]}", 2), ("x = [[}]]", 1)] {
            XCTAssertThrowsError(try TOMLGuard.checkTableHeaders(text, path: "spec.toml"), text.debugDescription) { error in
                let message = "\(error)"
                XCTAssertTrue(message.contains("spec.toml") && message.contains("\(line)") && (message.contains("expected a key") || message.contains("closes")), message)
            }
        }
    }

    func testAcceptsValidHeadersArraysAndStrings() throws {
        let text = """
        [study]
        name = "x"   # [;not a header]
        [[gate]]
        [ "quoted key" ]
        ['literal'.b]
        values = [
          [+1, -2],
          [ ;3 ],
        ]
        inline = { a = [1, [2]] }
        s = \"\"\"
        [;inside a multi-line string]
        \"\"\"
        t = '''
        [;inside a literal one]'''
        []
        """
        XCTAssertNoThrow(try TOMLGuard.checkTableHeaders(text, path: "spec.toml"))
    }
}
