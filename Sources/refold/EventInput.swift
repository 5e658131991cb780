import ArgumentParser
import Foundation
import Tensor

/// `--drop-non-finite`, the one switch of the non-finite policy (README "Formats") on every
/// command that reads event sample folders: an event holding NaN or inf is refused by default,
/// and with the flag dropped from every array of its folder alike, counted on stderr and in the
/// output's metadata.
struct NonFiniteOption: ParsableArguments {
    @Flag(help: "Drop the events holding NaN or inf (from every array of the sample folder alike, so pairs stay aligned) instead of refusing the folder; the count is printed on stderr and recorded in the output's metadata.")
    var dropNonFinite = false

    var policy: EventSample.NonFiniteEvents { dropNonFinite ? .drop : .refuse }
}

/// Reads sample folders under one policy, says on stderr how many events it dropped from each and
/// keeps the counts, for the metadata of an output that reads several folders (a trained model's
/// `train-options.json`).
final class EventReader {
    let policy: EventSample.NonFiniteEvents
    /// Folder path (as given) -> events dropped there; only folders that lost any.
    private(set) var dropped: [String: Int] = [:]

    init(_ policy: EventSample.NonFiniteEvents) { self.policy = policy }

    func read(_ url: URL) throws -> EventSample {
        let sample = try EventSample.read(from: url, nonFinite: policy)
        reportDropped(sample.droppedNonFinite, kept: sample.count, folder: url.path)
        if sample.droppedNonFinite > 0 { dropped[url.path, default: 0] += sample.droppedNonFinite }
        return sample
    }
}

/// Reads the one sample folder `url` under `policy` (`EventReader`).
func readEvents(_ url: URL, _ policy: EventSample.NonFiniteEvents) throws -> EventSample {
    try EventReader(policy).read(url)
}

/// The stderr line of `--drop-non-finite` (nothing when no event was dropped).
func reportDropped(_ dropped: Int, kept: Int, folder: String) {
    guard dropped > 0 else { return }
    FileHandle.standardError.write(Data("\(folder): dropped \(dropped) of \(dropped + kept) events holding NaN or inf (--drop-non-finite)\n".utf8))
}
