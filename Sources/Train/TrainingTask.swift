// What a task plugs into the training loop. An objective gives batches and their loss (enough for a
// training step, and for the benchmark); a task adds evaluation and what its checkpoints store.
// Pretraining (PretrainTask) and every fine-tuning task (FinetuneTask) are tasks.
import Foundation
import Autograd
import Checkpoint
import Kernels
import NN

public protocol TrainingObjective: AnyObject {
    associatedtype Batch
    /// Parameters the optimiser updates.
    var trainable: [NamedParameter] { get }
    /// Every gradient the loss writes, as few flat buffers as possible (data-parallel runs sum each
    /// over the ranks with one collective).
    var gradientBuffers: [UnsafeMutableBufferPointer<Float>] { get }
    /// Clears the gradients of everything the loss reaches.
    func zeroGrad()
    /// The next training batch; `rng` is the run's batch stream (tasks with their own order ignore it).
    func nextBatch(rng: inout RandomGenerator) -> Batch
    /// The batch's loss, recorded on the tape when `training`; `rng` drives dropout.
    func loss(_ batch: Batch, training: Bool, rng: inout RandomGenerator) -> StepLoss
    /// After the backward pass and before clipping (e.g. to zero the gradients of frozen rows).
    func afterBackward()
}

extension TrainingObjective {
    public func afterBackward() {}
}

extension GPT {
    /// The gradient arena as the one buffer a data-parallel step sums.
    public var gradientBuffers: [UnsafeMutableBufferPointer<Float>] { [gradientArena] }
}

/// One batch's loss and what the step line logs about it.
public struct StepLoss {
    public var loss: Tensor
    /// Tokens the batch trained on (for tokens/s).
    public var tokens: Int
    /// Parts of the loss logged beside it in metrics.jsonl (e.g. "task_loss", "lm_loss").
    public var parts: [String: Double] = [:]

    public init(loss: Tensor, tokens: Int, parts: [String: Double] = [:]) {
        self.loss = loss; self.tokens = tokens; self.parts = parts
    }
}

public protocol TrainingTask: TrainingObjective {
    associatedtype Evaluation: EvaluationReport
    /// Every tensor a checkpoint saves, in a fixed order (the model's, then any head's).
    var checkpointParameters: [NamedParameter] { get }
    /// The event announcing the run (before the first evaluation).
    func startEvent(step: Int, resumedFrom: String?) -> TrainingEvent
    /// Warnings to show after the start (e.g. rows truncated to the context).
    var warnings: [String] { get }
    /// Metrics on held-out data, without gradients or dropout, and without touching the training
    /// streams: evaluating never changes what training does. `isCancelled` is asked between batches
    /// (the same number of times on every rank); once it says true the evaluation stops and returns nil.
    func evaluate(step: Int, dropoutRNG: RandomGenerator, isCancelled: () -> Bool) -> Evaluation?
    /// state.json for a checkpoint at `step`.
    func runState(step: Int, streams: TrainingStreams, best: Double?) -> RunState
}

/// An evaluation's record: the value `best` is chosen by, and how it is logged and reported.
public protocol EvaluationReport {
    var metricValue: Double { get }
    var higherIsBetter: Bool { get }
    var isBest: Bool { get set }
    var milliseconds: Double { get set }
    var jsonObject: [String: Any] { get }
    var event: TrainingEvent { get }
}
