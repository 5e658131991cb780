import Foundation

/// Where a command writes (issue 20, "no output is silently destroyed"): never onto one of its
/// inputs, and onto an existing output only when the user passed `--force`.
///
/// Paths are compared after resolving `.`/`..` and symbolic links. An existing empty folder
/// counts as free; an existing file or non-empty folder needs `force`.
public enum OutputGuard {
    /// Throws when `out` is one of `inputs` (each named by its option, e.g. `--detector`) or
    /// exists (a file, or a folder with anything in it) and `force` is false. `option` names the
    /// output's own option in the message.
    public static func check(_ out: URL, option: String = "--out", inputs: [(option: String, url: URL)] = [], force: Bool) throws {
        let target = resolved(out)
        for input in inputs where resolved(input.url) == target {
            throw RefoldError.file(out.path, "\(option) is the \(input.option) input: an output never replaces an input; choose another \(option)")
        }
        guard !force, isOccupied(out) else { return }
        throw RefoldError.file(out.path, "exists: pass --force to overwrite it, or choose another \(option)")
    }

    /// Whether `url` is a file or a folder holding at least one entry.
    public static func isOccupied(_ url: URL) -> Bool {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else { return false }
        guard isFolder.boolValue else { return true }
        return !((try? FileManager.default.contentsOfDirectory(atPath: url.path))?.isEmpty ?? true)
    }

    static func resolved(_ url: URL) -> String { url.standardizedFileURL.resolvingSymlinksInPath().path }
}
