import Foundation

/// What TOMLKit's parser (toml++) must not be given, because it asserts and aborts the process
/// instead of reporting a syntax error (both found by `ParserFuzzTests`): a table header whose
/// first key character is neither a bare-key character nor a quote (`[;study]`, `[[ %x]]`), and a
/// closing bracket that does not match the open one (`x = [1, }]`, `x = {a = [}]}`). Both TOML
/// readers (study specs, detector cards) call this first, so such a file gets an error naming
/// its file and line.
public enum TOMLGuard {
    /// Throws for a table header `[` or `[[` at the start of a line, outside strings and
    /// multi-line values, whose first non-blank character cannot start a key, and for a `]` or `}`
    /// (outside strings and comments) that closes a `{` or `[` of the other kind.
    public static func checkTableHeaders(_ text: String, path: String) throws {
        let b = Array(text.utf8), n = b.count
        var i = 0, line = 1, lineStart = true
        var open: [UInt8] = []
        func isBareKey(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D
        }
        func skipLine() { while i < n, b[i] != 0x0A { i += 1 } }
        while i < n {
            let c = b[i]
            switch c {
            case 0x0A: line += 1; lineStart = true; i += 1
            case 0x20, 0x09, 0x0D: i += 1
            case 0x23: skipLine()                                   // # comment
            case 0x22, 0x27:                                        // " or '
                lineStart = false
                let triple = i + 2 < n && b[i + 1] == c && b[i + 2] == c
                i += triple ? 3 : 1
                while i < n {
                    if c == 0x22, b[i] == 0x5C { i += 2; continue }  // escape in a basic string
                    if b[i] == 0x0A {
                        if !triple { break }                        // unterminated: toml++ reports it
                        line += 1
                    }
                    if b[i] == c, !triple || (i + 2 < n && b[i + 1] == c && b[i + 2] == c) {
                        i += triple ? 3 : 1
                        break
                    }
                    i += 1
                }
            case 0x5B where lineStart && open.isEmpty:                // [ table header
                var j = i + 1
                if j < n, b[j] == 0x5B { j += 1 }
                while j < n, b[j] == 0x20 || b[j] == 0x09 { j += 1 }
                if j < n, !(isBareKey(b[j]) || b[j] == 0x22 || b[j] == 0x27 || b[j] == 0x5D) {
                    let shown = String(decoding: b[i..<min(n, j + 1)], as: UTF8.self)
                    throw RefoldError.file(path, line: line, "TOML syntax: table header \(shown.debugDescription): expected a key (letters, digits, _ or -, or a quoted key) after '['")
                }
                lineStart = false
                skipLine()
            default:
                lineStart = false
                if c == 0x5B || c == 0x7B {
                    open.append(c)
                } else if c == 0x5D || c == 0x7D, let last = open.popLast() {
                    guard (last == 0x5B) == (c == 0x5D) else {
                        throw RefoldError.file(path, line: line, "TOML syntax: '\(Character(UnicodeScalar(c)))' closes a '\(Character(UnicodeScalar(last)))'")
                    }
                }
                i += 1
            }
        }
    }
}
