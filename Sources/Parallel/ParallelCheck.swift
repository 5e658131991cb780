import Foundation

/// What `refold mpi-selftest` records on every rank of an `mpirun` job, gathered at rank 0 and
/// written as JSON for Tests/ParallelTests to check.
public enum ParallelCheck {
    /// One rank's view of every collective.
    public struct Collectives: Codable, Equatable {
        public var rank: Int
        public var size: Int
        /// Allreduce of x_r[i] = (r + 1) i + 1/2.
        public var allreduce: [Float]
        /// Rank 0's i / 4, broadcast.
        public var broadcastFloats: [Float]
        /// Rank 0's text, broadcast as bytes.
        public var broadcastText: String
        /// rank + 1 repetitions of "rank r ", so that the gathered payloads differ in length.
        public var padding: String

        /// Runs every collective once on `group` (allreduce, a Float and a byte broadcast from rank
        /// 0, a barrier) and gathers each rank's results: all of them at rank 0, none elsewhere.
        public static func run(count: Int, group: ProcessGroup = .world) throws -> [Collectives] {
            var reduced = (0..<count).map { Float(group.rank + 1) * Float($0) + 0.5 }
            group.allreduceSum(&reduced)
            var floats = group.isRoot ? (0..<count).map { Float($0) * 0.25 } : [Float](repeating: -1, count: count)
            group.broadcast(&floats)
            var text = group.isRoot ? Array(rootText.utf8) : []
            group.broadcast(bytes: &text)
            group.barrier()
            let mine = Collectives(rank: group.rank, size: group.size, allreduce: reduced, broadcastFloats: floats,
                                   broadcastText: String(decoding: text, as: UTF8.self),
                                   padding: String(repeating: "rank \(group.rank) ", count: group.rank + 1))
            return try group.gather(bytes: Array(try JSONEncoder().encode(mine)))
                .map { try JSONDecoder().decode(Collectives.self, from: Data($0)) }
        }

        /// The text rank 0 broadcasts.
        public static let rootText = "broadcast from rank 0"
    }

    /// A short data-parallel training run: the epoch's losses, rank 0's initial weights and every
    /// rank's weights after it.
    public struct Training: Codable, Equatable {
        public var ranks: Int
        /// The trainer's epoch losses (rank 0's report).
        public var losses: [Double]
        public var initial: [Float]
        /// Each rank's weights after training, in rank order.
        public var trained: [[Float]]

        /// Gathers every rank's `trained` weights at rank 0 (nil on the other ranks).
        public static func gather(losses: [Double], initial: [Float], trained: [Float], group: ProcessGroup = .world) throws -> Training? {
            let bytes = trained.withUnsafeBufferPointer { Array(UnsafeRawBufferPointer($0)) }
            let all = try group.gather(bytes: bytes)
            guard group.isRoot else { return nil }
            return Training(ranks: group.size, losses: losses, initial: initial,
                            trained: all.map { payload in payload.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) } })
        }
    }
}
