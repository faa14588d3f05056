// Fine-tuning a pretrained GPT on labelled data: FinetuneSetup builds the task (FinetuneTask), and
// the shared TrainingLoop trains it — AdamW, warm-up + cosine schedule, clipping, dev evaluation
// (FinetuneEvaluation), checkpoints, exact resume, Ctrl-C.
import Foundation
import Kernels
import NN

public typealias FinetuneOptions = RunOptions<FinetuneConfig>

public struct FinetuneResult {
    public var step: Int
    public var bestMetric: Double?
    public var lastEval: TaskEvalMetrics?
    public var interrupted: Bool
    public var seconds: Double
}

public final class Finetuner {
    public let task: FinetuneTask
    public let loop: TrainingLoop<FinetuneTask>
    public var config: FinetuneConfig { task.config }
    public var model: GPT { task.model }
    public var head: ClassifierHead? { task.head }
    public var labels: [String] { task.labels }

    /// Reads and encodes the task files, builds the model from the initial checkpoint (or restores a
    /// checkpoint of this run), and the optimiser. Throws a one-line error for bad input files, an
    /// initial checkpoint that does not fit the data, or an unusable run directory.
    public init(_ options: FinetuneOptions, events: @escaping (TrainingEvent) -> Void = { _ in }) throws {
        let config = options.config
        try config.validate()
        TrainingThreads.apply(configured: config.threads)
        let run = RunDirectory(options.runDirectory, keepLast: config.keepLast)
        let (task, resume) = try FinetuneSetup.makeTask(config, run: run, resume: options.resume,
                                                          verify: options.verifyCheckpoints)
        self.task = task
        loop = try TrainingLoop(task: task, config: config.optimization, run: run, seed: config.seed, resume: resume,
                                events: events)
    }

    /// Trains until max_iters (or Ctrl-C), evaluating and checkpointing along the way.
    @discardableResult
    public func run() throws -> FinetuneResult {
        let out = try loop.train()
        return FinetuneResult(step: out.step, bestMetric: out.best, lastEval: out.lastEvaluation,
                              interrupted: out.interrupted, seconds: out.seconds)
    }

    /// Dev metrics now (logged and reported like a scheduled evaluation).
    @discardableResult
    public func evaluate() -> TaskEvalMetrics { loop.evaluate() }
}
