// The "finetune" object that fine-tuning checkpoints add to state.json (RunState.extra), holding what
// evaluation needs to rebuild the input format and what resume needs beyond RunState's fields:
//   "task": "classify" | "generate"
//   "base_vocab_size": V, the initial model's vocabulary; ids from V on were added by fine-tuning
//   "tokens": {"start": V, "delimiter": V+1, "extract": V+2} (classify) or {"end": id} (generate)
//   "labels": ["0", "1"] (classify: index = the classifier's output row)
//   "template": "...{prompt}..." (generate)
//   "epoch", "cursor", "pool_batch": the training data position (BatchPlan); "best_metric": the best
//   dev value so far
//   "init": where the weights came from
// The run kinds are "finetune-classify" and "finetune-generate".
import Foundation
import Kernels

public struct FinetuneState {
    public static let key = "finetune"

    public var task: FinetuneConfig.Task
    public var baseVocabSize: Int
    public var tokens: [String: Int32]
    public var labels: [String]
    public var template: String?
    public var epoch: Int
    public var cursor: Int
    public var poolBatch: Int = 0
    public var bestMetric: Double?
    public var initFrom: String

    public init(task: FinetuneConfig.Task, baseVocabSize: Int, tokens: [String: Int32], labels: [String],
                template: String?, epoch: Int = 0, cursor: Int = 0, bestMetric: Double? = nil, initFrom: String) {
        self.task = task; self.baseVocabSize = baseVocabSize; self.tokens = tokens; self.labels = labels
        self.template = template; self.epoch = epoch; self.cursor = cursor; self.bestMetric = bestMetric
        self.initFrom = initFrom
    }

    public static func kind(_ task: FinetuneConfig.Task) -> String { "finetune-" + task.rawValue }

    public var jsonObject: [String: Any] {
        var o: [String: Any] = ["task": task.rawValue, "base_vocab_size": baseVocabSize,
                                "tokens": tokens.mapValues { Int($0) }, "epoch": epoch, "cursor": cursor, "pool_batch": poolBatch,
                                "init": initFrom]
        if task == .classify { o["labels"] = labels }
        if let template { o["template"] = template }
        if let bestMetric { o["best_metric"] = bestMetric }
        return o
    }

    /// Reads the fine-tuning fields of a checkpoint's state; `source` names state.json in errors.
    public static func decode(_ state: RunState, source: String) throws -> FinetuneState {
        func fail(_ m: String) -> TrainConfigError { TrainConfigError(source: source, message: m) }
        guard state.kind.hasPrefix("finetune-") else {
            throw fail("checkpoint kind is \"\(state.kind)\", not a fine-tuning run (finetune-classify or finetune-generate)")
        }
        guard let o = state.extra[key] as? [String: Any] else { throw fail("missing the \"\(key)\" object") }
        guard let t = o["task"] as? String, let task = FinetuneConfig.Task(rawValue: t),
              state.kind == kind(task) else {
            throw fail("\"\(key).task\" is missing or does not match the kind \"\(state.kind)\"")
        }
        guard let base = o["base_vocab_size"] as? Int, base > 0, let rawTokens = o["tokens"] as? [String: Int],
              let epoch = o["epoch"] as? Int, let cursor = o["cursor"] as? Int else {
            throw fail("\"\(key)\" lacks one of base_vocab_size, tokens, epoch, cursor")
        }
        let tokens = rawTokens.mapValues { Int32(clamping: $0) }
        for (name, id) in tokens where id < 0 || Int(id) >= state.model.vocabSize {
            throw fail("task token \"\(name)\" has id \(id), outside the model's \(state.model.vocabSize) tokens")
        }
        var labels: [String] = []
        if task == .classify {
            guard let l = o["labels"] as? [String], !l.isEmpty else { throw fail("\"\(key).labels\" is missing or empty") }
            guard tokens["start"] != nil, tokens["delimiter"] != nil, tokens["extract"] != nil else {
                throw fail("\"\(key).tokens\" needs start, delimiter and extract")
            }
            labels = l
        } else {
            guard tokens["end"] != nil else { throw fail("\"\(key).tokens\" needs end") }
            guard o["template"] is String else { throw fail("\"\(key).template\" is missing") }
        }
        var ft = FinetuneState(task: task, baseVocabSize: base, tokens: tokens, labels: labels,
                               template: o["template"] as? String, epoch: epoch, cursor: cursor,
                               bestMetric: o["best_metric"] as? Double, initFrom: (o["init"] as? String) ?? "")
        ft.poolBatch = (o["pool_batch"] as? Int) ?? 0
        return ft
    }
}

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
        var batches = stride(from: 0, to: sorted.count, by: batchSize).map { Array(sorted[$0..<min($0 + batchSize, sorted.count)]) }
        var rng = RandomGenerator(seed: order.seed &* 0xD1B5_4A32_D192_ED03 &+ UInt64(poolEpoch) &* 1_000_003 &+ UInt64(poolCursor))
        for i in stride(from: batches.count - 1, to: 0, by: -1) { batches.swapAt(i, rng.nextInt(below: i + 1)) }
        pending = batches
    }
}
