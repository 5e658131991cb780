import Foundation

/// A command's progress line on a terminal (training epochs, events scanned): each line overwrites
/// the one before ("\r", then erase to the end of the line) and `finish` ends the last. Quiet when
/// the stream is not a terminal or `CI` is set, so logs and CI output keep only the summary.
public final class TerminalProgress {
    public let isLive: Bool
    let fileDescriptor: Int32
    private var written = false

    /// Progress on standard output (1) or standard error (2).
    public init(fileDescriptor: Int32 = 1, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.fileDescriptor = fileDescriptor
        isLive = environment["CI"] == nil && isatty(fileDescriptor) != 0
    }

    public func update(_ line: String) {
        guard isLive else { return }
        write("\r" + line + "\u{1B}[K")
        written = true
    }

    /// Ends the progress line (if one was written).
    public func finish() {
        guard written else { return }
        write("\n")
        written = false
    }

    private func write(_ text: String) {
        if fileDescriptor == 1 {
            print(text, terminator: "")
            fflush(stdout)
        } else {
            FileHandle(fileDescriptor: fileDescriptor, closeOnDealloc: false).write(Data(text.utf8))
        }
    }
}
