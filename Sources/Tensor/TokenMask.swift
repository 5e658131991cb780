/// Which slots of a padded batch of variable-length events hold a real token.
///
/// Layout (see docs/transformer.md): a batch of N events with up to T tokens of F features is a
/// matrix [N*T, F] whose row n*T + t is slot t of event n; `valid[n*T + t]` says whether that slot
/// holds a token. Real tokens may sit in any slots; `init(counts:tokens:)` fills the first ones.
/// An event may have no token at all (its pooled output is defined as zero).
public struct TokenMask: Equatable, Sendable {
    /// N, the number of events.
    public let events: Int
    /// T, the slots per event.
    public let tokens: Int
    /// valid[n*T + t]: slot t of event n holds a token.
    public let valid: [Bool]
    /// Real tokens per event.
    public let counts: [Int]

    public init(events: Int, tokens: Int, valid: [Bool]) {
        precondition(events >= 0 && tokens > 0, "TokenMask: expected events >= 0 and tokens > 0, got \(events) and \(tokens)")
        precondition(valid.count == events * tokens,
                     "TokenMask: \(events) events of \(tokens) slots need \(events * tokens) flags, got \(valid.count)")
        self.events = events
        self.tokens = tokens
        self.valid = valid
        counts = (0..<events).map { n in valid[(n * tokens)..<((n + 1) * tokens)].reduce(0) { $0 + ($1 ? 1 : 0) } }
    }

    /// Event n holds tokens in its first counts[n] of `tokens` slots.
    public init(counts: [Int], tokens: Int) {
        precondition(counts.allSatisfy { 0...tokens ~= $0 }, "TokenMask: counts \(counts) must lie in 0...\(tokens)")
        self.init(events: counts.count, tokens: tokens, valid: counts.flatMap { c in (0..<tokens).map { $0 < c } })
    }

    /// Every slot holds a token.
    public static func full(events: Int, tokens: Int) -> TokenMask {
        TokenMask(counts: Array(repeating: tokens, count: events), tokens: tokens)
    }

    /// N*T, the rows of a token matrix under this mask.
    public var rows: Int { events * tokens }
}
