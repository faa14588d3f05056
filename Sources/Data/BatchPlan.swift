// Which training rows a fine-tuning step reads: a fresh permutation of the rows each epoch (RowOrder),
// cut into batches, optionally length-bucketed (BatchPlan). Both are pure functions of the seed and a
// saved position, so a resumed run reads exactly the rows an unbroken one would.
import Foundation
import Kernels

/// The order in which training rows are visited: a fresh permutation each epoch, a pure function of
/// (seed, epoch), so the position (epoch, cursor) is all a checkpoint needs to continue exactly.
public struct RowOrder {
    public let count: Int
    public let seed: UInt64
    public private(set) var epoch: Int
    public private(set) var cursor: Int
    private var order: [Int]

    public init(count: Int, seed: UInt64, epoch: Int = 0, cursor: Int = 0) {
        precondition(count > 0, "RowOrder: no rows")
        precondition(cursor >= 0 && cursor < count, "RowOrder: cursor \(cursor) outside 0..<\(count)")
        self.count = count; self.seed = seed; self.epoch = epoch; self.cursor = cursor
        order = RowOrder.permutation(count: count, seed: seed, epoch: epoch)
    }

    static func permutation(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var rng = RandomGenerator(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(epoch) &+ 0x5EED)
        var p = Array(0..<count)
        for i in stride(from: count - 1, to: 0, by: -1) { p.swapAt(i, rng.nextInt(below: i + 1)) }
        return p
    }

    /// The next row without consuming it.
    public var peek: Int { order[cursor] }

    /// Consumes and returns the next row.
    public mutating func next() -> Int {
        let r = order[cursor]
        cursor += 1
        if cursor == count {
            epoch += 1
            cursor = 0
            order = RowOrder.permutation(count: count, seed: seed, epoch: epoch)
        }
        return r
    }
}

/// Training batches as lists of row indices. Without bucketing, batch_size consecutive rows of the
/// epoch order. With bucketing (poolBatches > 1), rows are drawn a pool of poolBatches batches at a
/// time, the pool is sorted by row length and cut into batches, and those batches are visited in a
/// shuffled order: rows of similar length share a batch, so right-padding wastes little, while every
/// row is still seen once per epoch. The position to save is where the current pool started and how
/// many of its batches were used, from which the rest of the pool is rebuilt exactly.
public struct BatchPlan {
    /// Batches per length-sorted pool (fairseq-style bucketing, with pools small enough that the
    /// batch order stays well mixed).
    public static let defaultPoolBatches = 16

    public private(set) var order: RowOrder
    public let batchSize: Int
    public let poolBatches: Int
    let lengths: [Int]
    private var pending: [[Int]] = []
    private var poolEpoch = 0, poolCursor = 0, consumed = 0

    /// `lengths`: each row's length (the sort key). Restores the position (epoch, cursor, poolBatch)
    /// that `position` returned.
    public init(lengths: [Int], batchSize: Int, poolBatches: Int, seed: UInt64, epoch: Int = 0, cursor: Int = 0,
                poolBatch: Int = 0) {
        precondition(batchSize >= 1 && poolBatches >= 1, "BatchPlan: batch size and pool must be >= 1")
        self.lengths = lengths
        self.batchSize = batchSize
        self.poolBatches = poolBatches
        order = RowOrder(count: lengths.count, seed: seed, epoch: epoch, cursor: cursor)
        if poolBatch > 0 && poolBatches > 1 {
            fillPool()
            pending.removeFirst(min(poolBatch, pending.count))
            consumed = poolBatch
        }
    }

    /// (epoch, cursor, poolBatch) to save in a checkpoint.
    public var position: (epoch: Int, cursor: Int, poolBatch: Int) {
        pending.isEmpty ? (order.epoch, order.cursor, 0) : (poolEpoch, poolCursor, consumed)
    }

    /// The next batch of row indices.
    public mutating func next() -> [Int] {
        if poolBatches <= 1 { return (0..<batchSize).map { _ in order.next() } }
        if pending.isEmpty { fillPool() }
        consumed += 1
        return pending.removeFirst()
    }

    /// The next row without consuming it, and consuming it (for packing, which fills contexts row by row).
    public var peekRow: Int { order.peek }
    public mutating func nextRow() -> Int { order.next() }

    private mutating func fillPool() {
        poolEpoch = order.epoch
        poolCursor = order.cursor
        consumed = 0
        let rows = (0..<(batchSize * poolBatches)).map { _ in order.next() }
        let sorted = rows.indices.sorted { (lengths[rows[$0]], $0) < (lengths[rows[$1]], $1) }.map { rows[$0] }
        var batches = stride(from: 0, to: sorted.count, by: batchSize).map {
            Array(sorted[$0..<min($0 + batchSize, sorted.count)])
        }
        var rng = RandomGenerator(seed: order.seed &* 0xD1B5_4A32_D192_ED03 &+ UInt64(poolEpoch) &* 1_000_003
                                      &+ UInt64(poolCursor))
        for i in stride(from: batches.count - 1, to: 0, by: -1) { batches.swapAt(i, rng.nextInt(below: i + 1)) }
        pending = batches
    }
}
