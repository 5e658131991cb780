import ArgumentParser
import Foundation
import Tensor

/// Refuses work whose arrays would not fit: `count` items of `bytesPerItem` bytes (overflow-checked)
/// against half the machine's physical memory, before anything is allocated (issue [reliability] 5).
func checkMemory(_ what: String, count: Int, bytesPerItem: Int) throws {
    let (bytes, overflow) = count.multipliedReportingOverflow(by: bytesPerItem)
    let limit = ProcessInfo.processInfo.physicalMemory / 2
    guard !overflow, count >= 0, UInt64(bytes) <= limit else {
        throw RefoldError.value(what, expected: "at most \(limit / UInt64(bytesPerItem)) (half of \(ProcessInfo.processInfo.physicalMemory >> 30) GiB at \(bytesPerItem) bytes each)",
                                actual: count)
    }
}

/// `refold unfold`: `samples` parton rows for each of `events` detector events, at most 16 values
/// each in Float and Double (both the flow and the GAN path).
func checkUnfoldMemory(events: Int, samples: Int) throws {
    let (total, overflow) = events.multipliedReportingOverflow(by: samples)
    try checkMemory("--samples x detector events (\(events))", count: overflow ? Int.max : total, bytesPerItem: 16 * 12)
}

/// The stated range of a count option (issue [reliability] 5): the maximum, given in the option's
/// help, for counts whose memory is small or bounded by another check (epochs, iterations,
/// threads, draws); counts that size arrays (events, samples, grid points) are also checked
/// against the memory with `checkMemory`.
func checkCount(_ option: String, _ value: Int, in range: ClosedRange<Int>) throws {
    guard range.contains(value) else { throw ValidationError("\(option): expected \(range.lowerBound)...\(range.upperBound), got \(value)") }
}
