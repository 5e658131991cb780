import Foundation
import Tensor

/// Workloads for `refold bench` (speed is measured there, never in tests).
public enum ToyBenchmarks {
    /// Samples `events` Gaussian-ring events (thesis parameters) into one preallocated buffer.
    /// Target: 10^7 events in under 2 s in release.
    public static func ringSample(events: Int, seed: UInt64) -> (seconds: Double, events: Int) {
        precondition(events > 0, "ringSample: expected events > 0, got \(events)")
        let ring = GaussianRing()
        let rng = RNGStream(seed: seed).child("generate.ring")
        let buffer = UnsafeMutableBufferPointer<Double>.allocate(capacity: 2 * events)
        defer { buffer.deallocate() }
        let start = DispatchTime.now().uptimeNanoseconds
        ring.sample(into: buffer, rng: rng)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        // Keep the result observable so the sampling cannot be optimised away.
        if buffer[2 * events - 1] < 0 { fatalError("ring: negative y") }
        return (seconds, events)
    }
}
