import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// SIGINT and SIGTERM during training ([reliability] 6): `install()` replaces the default
/// handlers (which kill the process mid-write) with one that only records the signal; the
/// trainers check `signal` before every batch and stop with `Interrupted`, the last checkpoint
/// kept. Only commands that train install it, so Ctrl-C still ends every other command at once.
public enum Interruption {
    nonisolated(unsafe) static var received: Int32 = 0

    /// Records SIGINT and SIGTERM instead of dying (idempotent).
    public static func install() {
        _ = Glibc.signal(SIGINT) { Interruption.received = $0 }
        _ = Glibc.signal(SIGTERM) { Interruption.received = $0 }
    }

    /// The signal received since `install` (or the last `reset`), if any.
    public static var signal: Int32? { received == 0 ? nil : received }

    /// Forgets a received signal (tests).
    public static func reset() { received = 0 }
}

/// Training stopped by SIGINT or SIGTERM; the command exits with 128 + signal (130, 143).
public struct Interrupted: Error, LocalizedError, CustomStringConvertible {
    public let signal: Int32
    public let message: String
    public init(signal: Int32, message: String) { self.signal = signal; self.message = message }
    public var exitCode: Int32 { 128 + signal }
    public var errorDescription: String? { message }
    public var description: String { message }
}
