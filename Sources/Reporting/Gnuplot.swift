import Foundation
import Tensor
import Validation

/// Runs gnuplot: writes each plot's data (`<name>.dat`) and script (`<name>.gp`, loadable under
/// any terminal) into a folder and renders `<name>.png` (pngcairo) and `<name>.pdf` (pdfcairo).
public struct Gnuplot: Sendable {
    /// The gnuplot executable.
    public let executable: URL
    /// The folder holding `refold.gp` and the templates.
    public let plots: URL

    public static let pngTerminal = "pngcairo enhanced size 1200,900 font 'Sans,16'"
    public static let pdfTerminal = "pdfcairo enhanced size 6in,4.5in font 'Sans,10'"

    /// Finds gnuplot on PATH and the `Plots/` folder (`plots`, `$REFOLD_PLOTS`, `./Plots`, or the
    /// source checkout's `Plots/`). Throws naming what is missing.
    public init(plots: URL? = nil) throws {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        guard let found = path.split(separator: ":").map({ URL(fileURLWithPath: String($0)).appendingPathComponent("gnuplot") })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw RefoldError("gnuplot: not found on PATH (\(path)); install it with `sudo apt-get install gnuplot-nox` or `make deps`")
        }
        executable = found
        let candidates = [plots,
                          ProcessInfo.processInfo.environment["REFOLD_PLOTS"].map { URL(fileURLWithPath: $0) },
                          URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("Plots"),
                          URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                              .deletingLastPathComponent().appendingPathComponent("Plots")].compactMap { $0 }
        guard let folder = candidates.first(where: { FileManager.default.fileExists(atPath: $0.appendingPathComponent("refold.gp").path) }) else {
            throw RefoldError.value("gnuplot templates", expected: "a Plots/ folder with refold.gp", actual: candidates.map(\.path))
        }
        self.plots = folder.standardizedFileURL
    }

    /// Writes `name.dat` (and `name-<var>.dat` for further data), `name.gp`, renders `name.png`
    /// and `name.pdf` in `folder`. Returns the record for the study summary.
    @discardableResult
    public func render(_ plot: Plot, name: String, in folder: URL) throws -> PlotRecord {
        guard !name.isEmpty, !name.contains("/") else { throw RefoldError.value("plot name", expected: "a file name without /", actual: name) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var dataFiles: [String] = []
        var script = "# \(plot.title)\n# Re-plot from this folder: gnuplot -e \"set terminal pngcairo; set output 'x.png'\" \(name).gp\n"
        script += "reset\nload \(quoted(plots.appendingPathComponent("refold.gp").path))\n"
        script += "title_text = \(quoted(plot.title))\n"
        for (variable, text) in plot.data.sorted(by: { $0.key < $1.key }) {
            let file = variable == "data" ? "\(name).dat" : "\(name)-\(variable.replacingOccurrences(of: "_data", with: "")).dat"
            try writeAtomically(text, to: folder.appendingPathComponent(file))
            dataFiles.append(file)
            script += "\(variable) = \(quoted(file))\n"
        }
        for (variable, value) in plot.variables {
            script += "\(variable) = \(value)\n"
        }
        script += "load \(quoted(plots.appendingPathComponent("\(plot.template.rawValue).gp").path))\n"
        try writeAtomically(script, to: folder.appendingPathComponent("\(name).gp"))

        let driver = """
        set terminal \(Self.pngTerminal)
        set output '\(name).png'
        load '\(name).gp'
        set output
        set terminal \(Self.pdfTerminal)
        set output '\(name).pdf'
        load '\(name).gp'
        set output

        """
        try run(driver, in: folder, label: "\(name).gp")
        for file in ["\(name).png", "\(name).pdf"] where !FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path) {
            throw RefoldError.file(folder.appendingPathComponent(file).path, "gnuplot finished but wrote no output")
        }
        return PlotRecord(title: plot.title, caption: plot.caption, png: "\(name).png", pdf: "\(name).pdf", script: "\(name).gp", data: dataFiles)
    }

    /// Runs gnuplot on `commands` (through a temporary script file) in `folder`; throws with its
    /// stderr on failure.
    func run(_ commands: String, in folder: URL, label: String) throws {
        let script = folder.appendingPathComponent(".refold-gnuplot-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).gp")
        try writeAtomically(commands, to: script)
        defer { try? FileManager.default.removeItem(at: script) }
        let process = Process()
        process.executableURL = executable
        process.arguments = [script.path]
        process.currentDirectoryURL = folder
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw RefoldError("gnuplot: cannot start \(executable.path): \(error.localizedDescription)")
        }
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw RefoldError.file(folder.appendingPathComponent(label).path,
                                   "gnuplot exited with status \(process.terminationStatus):\n\(stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }
}
