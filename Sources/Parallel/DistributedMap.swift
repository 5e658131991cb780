import Foundation

extension ProcessGroup {
    /// [body(0), ..., body(count - 1)] on every rank, item i computed on rank i mod size: each rank
    /// computes its items, rank 0 gathers them (one gather) and sends the assembled list to all
    /// (one byte broadcast). The result equals a serial map when `body(i)` depends on i alone (its
    /// random stream derived from i, never from the rank or from earlier items). One process: a
    /// plain map. An error in `body` on one rank is thrown there (and `refold` then ends the job).
    public func distributedMap<T: Codable>(_ count: Int, _ body: (Int) throws -> T) throws -> [T] {
        guard size > 1 else { return try (0..<count).map(body) }
        let mine = try stride(from: rank, to: count, by: size).map(body)
        // Binary property lists keep every Float and Double bit for bit, infinities and NaN included.
        let encoder = PropertyListEncoder()
        encoder.outputFormat = .binary
        barrier()  // the ranks that finish first sleep rather than spin in the gather
        let gathered = try gather(bytes: Array(try encoder.encode(mine)))
        var assembled = [UInt8]()
        var all: [T] = []
        if isRoot {
            let perRank = try gathered.map { try PropertyListDecoder().decode([T].self, from: Data($0)) }
            all = (0..<count).map { perRank[$0 % size][$0 / size] }
            assembled = Array(try encoder.encode(all))
        }
        broadcast(bytes: &assembled)
        // Rank 0 has the list already; the others decode the bytes it sent.
        return isRoot ? all : try PropertyListDecoder().decode([T].self, from: Data(assembled))
    }
}
