// The random streams of a run, each derived from the config's seed by a fixed offset so that no two
// uses share a stream: batches, dropout, the rows fine-tuning adds to the embedding, a new head, and
// the batches of each evaluation. The offsets are part of the checkpoint format (resume continues
// the saved streams) and of every recorded loss: changing one changes every run's numbers.
import Foundation
import Kernels

public struct TrainingStreams {
    /// Draws training batches (pretraining's random windows).
    public var batch: RandomGenerator
    /// Draws dropout masks.
    public var dropout: RandomGenerator

    public init(seed: Int) {
        batch = RandomGenerator(seed: SeedOffset.batch.seed(seed))
        dropout = RandomGenerator(seed: SeedOffset.dropout.seed(seed))
    }

    public init(batch: RandomGenerator, dropout: RandomGenerator) { self.batch = batch; self.dropout = dropout }
}

public enum SeedOffset: UInt64 {
    case batch = 1
    case dropout = 2
    /// N(0, 0.02) rows for the task tokens fine-tuning appends to wte.
    case addedEmbeddings = 3
    /// A new classifier head's initialisation.
    case classifierHead = 4

    public func seed(_ seed: Int) -> UInt64 { UInt64(truncatingIfNeeded: seed) &+ rawValue }

    /// The batches of the evaluation at `step`: a stream of its own, so evaluating never shifts the
    /// training batches, and the same (seed, step) always scores the same windows.
    public static func evaluation(seed: Int, step: Int) -> UInt64 {
        UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9 &+ UInt64(truncatingIfNeeded: step) &+ 17
    }
}
