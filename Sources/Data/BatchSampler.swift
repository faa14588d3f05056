// Batches of (inputs, targets) windows from a TokenShardDataset.
//   random:     B start offsets drawn uniformly from 0..<N-T, each window tokens[i...i+T]
//               (nanoGPT train.py get_batch: torch.randint(len(data) - block_size, (batch_size,))).
//   sequential: consecutive rows, row b = tokens[p+bT ... p+bT+T], p advancing by T per row
//               (llm.c dataloader order); a row that would run past the end starts the next epoch at 0.
// The sampler's whole position is `state` (Codable), saved in checkpoints: restoring it (and, in
// random mode, the caller's RandomGenerator) replays exactly the batches an unbroken run would see.
import Kernels

public enum SamplingMode: String, Codable, Sendable {
    case random, sequential
}

public struct SamplerState: Codable, Equatable, Sendable {
    public var mode: SamplingMode
    /// Next token offset (sequential mode; unused in random mode).
    public var position: Int
    /// Completed passes over the data (sequential mode).
    public var epoch: Int
    /// Batches produced so far (both modes).
    public var batches: Int

    public init(mode: SamplingMode, position: Int = 0, epoch: Int = 0, batches: Int = 0) {
        self.mode = mode
        self.position = position
        self.epoch = epoch
        self.batches = batches
    }

    enum CodingKeys: String, CodingKey { case mode, position, epoch, batches }
}

/// The name training code uses where `Batch` would mean its own batch type.
public typealias TokenBatch = Batch

/// One batch: B rows of T inputs, and the same rows shifted by one token as targets.
public struct Batch: Equatable, Sendable {
    public let batchSize: Int   // B
    public let blockSize: Int   // T
    public var inputs: [Int32]  // (B, T)
    public var targets: [Int32] // (B, T)

    public init(batchSize: Int, blockSize: Int, inputs: [Int32], targets: [Int32]) {
        self.batchSize = batchSize; self.blockSize = blockSize; self.inputs = inputs; self.targets = targets
    }
}

public struct BatchSampler: Sendable {
    public let dataset: TokenShardDataset
    public let batchSize: Int
    public let blockSize: Int
    public var state: SamplerState

    /// `name` identifies the split in errors ("data/shakespeare val split").
    public init(dataset: TokenShardDataset, batchSize: Int, blockSize: Int, mode: SamplingMode,
                name: String = "dataset") throws {
        precondition(batchSize >= 1 && blockSize >= 1,
                     "BatchSampler: batchSize \(batchSize) and blockSize \(blockSize) must be >= 1")
        guard dataset.count >= blockSize + 1 else {
            throw DataError.notEnoughTokens(what: name, tokens: dataset.count, needed: blockSize + 1)
        }
        self.dataset = dataset
        self.batchSize = batchSize
        self.blockSize = blockSize
        self.state = SamplerState(mode: mode)
    }

    /// Restores a saved position (from a checkpoint). Throws if it does not fit this dataset.
    public mutating func restore(_ saved: SamplerState) throws {
        guard saved.position >= 0, saved.position <= dataset.count, saved.epoch >= 0, saved.batches >= 0 else {
            throw DataError.badOption(flag: "loader state",
                                      problem: "position \(saved.position) does not fit a split of \(dataset.count) "
                                               + "tokens")
        }
        state = saved
    }

    /// The next batch. `rng` is used only in random mode.
    public mutating func next(rng: inout RandomGenerator) -> Batch {
        let B = batchSize, T = blockSize
        var inputs = [Int32](repeating: 0, count: B * T)
        var targets = [Int32](repeating: 0, count: B * T)
        var row = [Int32](repeating: 0, count: T + 1)
        let n = dataset.count
        for b in 0..<B {
            let start: Int
            switch state.mode {
            case .random:
                start = rng.nextInt(below: n - T)
            case .sequential:
                if state.position + T + 1 > n {
                    state.position = 0
                    state.epoch += 1
                }
                start = state.position
                state.position += T
            }
            row.withUnsafeMutableBufferPointer { dataset.copy(from: start, count: T + 1, into: $0.baseAddress!) }
            for t in 0..<T {
                inputs[b * T + t] = row[t]
                targets[b * T + t] = row[t + 1]
            }
        }
        state.batches += 1
        return Batch(batchSize: B, blockSize: T, inputs: inputs, targets: targets)
    }
}
