import Foundation
import Parallel
import Tensor

/// Data-parallel training over the ranks of a `ProcessGroup`: every rank holds the whole model and
/// the same global batch order (shuffled from the seed), trains on its shard of each global batch,
/// and the gradients of the shards are combined into the gradient of the global batch.
///
/// For a loss that is a mean over events, sum_r (n_r / n) grad L_r = grad L (n_r events on rank r,
/// n in the global batch), so a run on N ranks with global batch B takes the same steps as one
/// process with batch B, up to Float32 round-off in the order of the sums. A loss that is not a
/// mean over events (an MMD between two batches) is estimated per shard instead; its gradient is
/// the mean of the shard estimates, not the global one.
/// With one rank every call returns without touching the model, so a single process trains bit
/// for bit as without this type.
public struct DataParallel {
    public let group: ProcessGroup

    public init(group: ProcessGroup = .current) { self.group = group }

    /// True with more than one rank.
    public var isDistributed: Bool { group.size > 1 }

    /// This rank's shard of a global batch: a contiguous slice, shard sizes differing by at most one,
    /// rank 0 first.
    public func shard<Rows: RandomAccessCollection>(_ rows: Rows) -> Rows.SubSequence {
        let n = rows.count, r = group.rank, size = group.size
        let lower = rows.index(rows.startIndex, offsetBy: n * r / size)
        let upper = rows.index(rows.startIndex, offsetBy: n * (r + 1) / size)
        return rows[lower..<upper]
    }

    /// Rank 0's parameter values on every rank, in one broadcast (the initial weights, or a resumed
    /// checkpoint read by rank 0).
    public func broadcastParameters(_ parameters: [Variable]) {
        guard isDistributed else { return }
        var bucket = [Float]()
        bucket.reserveCapacity(parameters.reduce(0) { $0 + $1.value.count })
        for p in parameters { bucket.append(contentsOf: p.value.storage) }
        group.broadcast(&bucket)
        var offset = 0
        for p in parameters {
            let count = p.value.count
            p.value.storage.replaceSubrange(0..<count, with: bucket[offset..<(offset + count)])
            offset += count
        }
    }

    /// Replaces every parameter's gradient by the global-batch gradient: this rank's gradient (of a
    /// loss averaged over its `localEvents`) weighted by localEvents / globalEvents and summed over
    /// the ranks, all gradients in one bucket (one allreduce per step). A parameter without a
    /// gradient on every rank keeps none. `sums` (loss values times events, for reports) are summed
    /// over the ranks in the same bucket.
    public func averageGradients(_ parameters: [Variable], localEvents: Int, globalEvents: Int, sums: inout [Float]) {
        guard isDistributed else { return }
        let weight = Float(localEvents) / Float(max(globalEvents, 1))
        var bucket = [Float]()
        bucket.reserveCapacity(parameters.reduce(sums.count + parameters.count) { $0 + $1.value.count })
        for p in parameters {
            if let g = p.grad {
                bucket.append(1)
                bucket.append(contentsOf: g.storage.lazy.map { $0 * weight })
            } else {
                bucket.append(0)
                bucket.append(contentsOf: repeatElement(0, count: p.value.count))
            }
        }
        bucket.append(contentsOf: sums)
        group.allreduceSum(&bucket)
        var offset = 0
        for p in parameters {
            let count = p.value.count
            let present = bucket[offset] > 0
            offset += 1
            p.grad = present ? Tensor(shape: p.value.shape, storage: Array(bucket[offset..<(offset + count)])) : nil
            offset += count
        }
        sums = Array(bucket[offset...])
    }
}
