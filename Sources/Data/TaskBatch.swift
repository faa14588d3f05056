// Fine-tuning batches built from encoded rows, row-major (B·T): right-padded to the longest row
// (causal attention keeps padding out of every real position; pad targets are -1), or, for
// instruction rows with packing, several rows per context as attention segments.
import Foundation

/// A row as token ids: classify rows end in the extract token and carry a label index; generate rows
/// hold prompt + completion + end, of which the first `promptCount` ids get no loss.
public struct EncodedRow: Sendable {
    public var ids: [Int32]
    public var label: Int32 = 0
    public var promptCount: Int = 0

    public init(ids: [Int32], label: Int32 = 0, promptCount: Int = 0) {
        self.ids = ids; self.label = label; self.promptCount = promptCount
    }
}

public struct TaskBatch {
    public var batch: Int
    public var time: Int
    public var ids: [Int32]
    public var targets: [Int32]          // LM targets (-1: no loss)
    public var segments: [Int32]?
    public var extract: [Int] = []       // classify: flat (b·T + t) index of each row's extract token
    public var labels: [Int32] = []      // classify: label index per row
    public var tokens: Int               // real (non-pad) positions

    /// Right-padded classification batch. LM targets cover the text tokens only: position t predicts
    /// ids[t+1] when that is a base-vocabulary token (not a delimiter or extract token).
    public static func classify(_ rows: [EncodedRow], baseVocabSize: Int) -> TaskBatch {
        let b = rows.count, t = rows.map(\.ids.count).max()!
        let base = Int32(baseVocabSize)
        var ids = [Int32](repeating: 0, count: b * t), targets = [Int32](repeating: -1, count: b * t)
        var extract: [Int] = [], labels: [Int32] = [], tokens = 0
        for (i, r) in rows.enumerated() {
            for (j, id) in r.ids.enumerated() {
                ids[i * t + j] = id
                if j + 1 < r.ids.count, r.ids[j + 1] < base { targets[i * t + j] = r.ids[j + 1] }
            }
            extract.append(i * t + r.ids.count - 1)
            labels.append(r.label)
            tokens += r.ids.count
        }
        return TaskBatch(batch: b, time: t, ids: ids, targets: targets, segments: nil, extract: extract,
                         labels: labels, tokens: tokens)
    }

    /// Right-padded generation batch: inputs ids[0..<n-1], targets ids[1..<n] where they belong to the
    /// completion or the end token.
    public static func generate(_ rows: [EncodedRow]) -> TaskBatch {
        let b = rows.count, t = rows.map { $0.ids.count - 1 }.max()!
        var ids = [Int32](repeating: 0, count: b * t), targets = [Int32](repeating: -1, count: b * t)
        var tokens = 0
        for (i, r) in rows.enumerated() {
            place(r, into: &ids, targets: &targets, at: i * t)
            tokens += r.ids.count - 1
        }
        return TaskBatch(batch: b, time: t, ids: ids, targets: targets, segments: nil, tokens: tokens)
    }

    /// batch_size contexts of block_size positions, each filled with whole rows in epoch order until
    /// the next one does not fit; every row is its own attention segment (positions restart), and the
    /// unused tail is one more segment with no targets.
    public static func packed(_ rows: [EncodedRow], plan: inout BatchPlan, contexts b: Int, blockSize t: Int)
        -> TaskBatch {
        var ids = [Int32](repeating: 0, count: b * t), targets = [Int32](repeating: -1, count: b * t)
        var segments = [Int32](repeating: 0, count: b * t)
        var tokens = 0
        for i in 0..<b {
            var used = 0, segment: Int32 = 0
            while true {
                let r = rows[plan.peekRow]
                let n = r.ids.count - 1
                if used > 0 && used + n > t { break }
                _ = plan.nextRow()
                place(r, into: &ids, targets: &targets, at: i * t + used)
                for j in 0..<n { segments[i * t + used + j] = segment }
                segment += 1
                used += n
                tokens += n
                if used == t { break }
            }
            for j in used..<t { segments[i * t + j] = segment }
        }
        return TaskBatch(batch: b, time: t, ids: ids, targets: targets, segments: segments, tokens: tokens)
    }

    static func place(_ r: EncodedRow, into ids: inout [Int32], targets: inout [Int32], at offset: Int) {
        let n = r.ids.count - 1
        for j in 0..<n {
            ids[offset + j] = r.ids[j]
            if j + 1 >= r.promptCount { targets[offset + j] = r.ids[j + 1] }
        }
    }
}
