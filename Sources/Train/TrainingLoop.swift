// The training loop every run goes through, pretraining and fine-tuning alike, in the order of
// nanoGPT's train.py: evaluate and checkpoint on schedule → micro-steps → clip → optimiser step → log;
// with Ctrl-C (a checkpoint, then stop), resume, `best`/`latest`, and metrics.jsonl in one place.
// A task (TrainingTask) supplies the batches, the loss and the evaluation. In a data-parallel run
// every rank runs this loop in step; rank 0 alone logs and writes.
import Foundation
import Checkpoint
import Collective
import Kernels
import NN

/// How a run ended.
public struct TrainingOutcome<Evaluation> {
    public var step: Int
    public var lastEvaluation: Evaluation?
    public var best: Double?
    public var interrupted: Bool
    public var seconds: Double
}

public final class TrainingLoop<Task: TrainingTask> {
    public let task: Task
    public let config: OptimizationConfig
    public let trainingStep: TrainingStep<Task>
    public private(set) var step: Int
    public private(set) var streams: TrainingStreams
    /// The best evaluation value so far (of those after the first step: only they have checkpoints).
    public private(set) var best: Double?
    let run: RunDirectory
    let group: ProcessGroup
    let resumedFrom: String?
    let emit: (TrainingEvent) -> Void

    /// `start`: where a resumed run continues (its step, streams and best value, with the optimiser's
    /// moments loaded from `start.checkpoint`); nil for a new run.
    public init(task: Task, config: OptimizationConfig, run: RunDirectory, seed: Int, resume start: ResumePoint?,
                group: ProcessGroup = .world, events: @escaping (TrainingEvent) -> Void) throws {
        if config.gradientAccumulationSteps % group.size != 0 {
            throw TrainingError(source: "gradient_accumulation_steps", message: "\(config.gradientAccumulationSteps) "
                + "is not divisible by the \(group.size) ranks (each rank runs an equal share of the micro-batches)")
        }
        self.task = task
        self.config = config
        self.run = run
        self.group = group
        emit = group.isRoot ? events : { _ in }
        trainingStep = TrainingStep(objective: task, optimization: config, group: group)
        if let start {
            try CheckpointStore.load(from: start.checkpoint, into: task.checkpointParameters,
                                     optimizer: trainingStep.optimizer)
            step = start.step; streams = start.streams; best = start.best; resumedFrom = start.checkpoint.path
        } else {
            step = 0; streams = TrainingStreams(seed: seed); best = nil; resumedFrom = nil
        }
        if group.isRoot { try run.openMetrics(resumedAt: start?.step) }
    }

    /// Trains until max_iters (or Ctrl-C), evaluating and checkpointing along the way.
    @discardableResult
    public func train() throws -> TrainingOutcome<Task.Evaluation> {
        let t0 = Date()
        emit(task.startEvent(step: step, resumedFrom: resumedFrom))
        for w in task.warnings { emit(.warning(w)) }
        var last: Task.Evaluation? = nil
        if step == 0 && config.maxIters > 0 { last = evaluate() }
        while step < config.maxIters {
            if interruptRequested() {
                try saveCheckpoint(isBest: false)
                emit(.interrupted(step: step))
                return TrainingOutcome(step: step, lastEvaluation: last, best: best, interrupted: true,
                                       seconds: Date().timeIntervalSince(t0))
            }
            takeStep()
            if step % config.evalInterval == 0 || step == config.maxIters {
                let e = evaluate()
                last = e
                try checkRanksAgree()
                if config.alwaysSaveCheckpoint || e.isBest || step == config.maxIters {
                    try saveCheckpoint(isBest: e.isBest)
                }
            }
        }
        let seconds = Date().timeIntervalSince(t0)
        emit(.finished(step: step, seconds: seconds))
        return TrainingOutcome(step: step, lastEvaluation: last, best: best, interrupted: false, seconds: seconds)
    }

    /// One optimiser step, then its log line every log_interval steps.
    func takeStep() {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let out = trainingStep.run(step: step, streams: &streams)
        step += 1
        let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
        let m = StepMetrics(step: step, maxSteps: config.maxIters, loss: out.loss, learningRate: out.learningRate,
                            gradNorm: out.gradNorm, milliseconds: ms,
                            tokensPerSecond: Double(out.tokens) / (ms / 1000))
        if step % config.logInterval == 0 || step == config.maxIters {
            var record = m.jsonObject
            for (k, v) in out.parts { record[k] = v }
            run.metrics?.append(record)
            emit(.step(m))
        }
    }

    /// The task's evaluation, marked best when it beats every earlier one after the first step (the
    /// step-0 evaluation scores the starting weights, which have no checkpoint of this run).
    @discardableResult
    public func evaluate() -> Task.Evaluation {
        let t0 = DispatchTime.now().uptimeNanoseconds
        var e = task.evaluate(step: step, dropoutRNG: streams.dropout)
        e.isBest = step > 0 && (best.map { e.higherIsBetter ? e.metricValue > $0 : e.metricValue < $0 } ?? true)
        if e.isBest { best = e.metricValue }
        e.milliseconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
        run.metrics?.append(e.jsonObject)
        emit(e.event)
        return e
    }

    /// Ctrl-C on any rank stops every rank at the same step.
    func interruptRequested() -> Bool {
        guard group.isDistributed else { return Interrupt.requested }
        return group.allReduceMax(Interrupt.requested ? 1 : 0) > 0
    }

    /// Every rank must hold the same weights; a difference (a rank that diverged) stops the run.
    func checkRanksAgree() throws {
        guard group.isDistributed else { return }
        var sum = 0.0
        for p in task.checkpointParameters {
            for i in 0..<p.tensor.count { sum += Double(p.tensor.data[i]) }
        }
        if group.allReduceMax(sum) != group.allReduceMin(sum) {
            throw TrainingError(source: "rank \(group.rank)", message: "the ranks' weights differ at step \(step) "
                + "(checksums \(group.allReduceMin(sum)) to \(group.allReduceMax(sum))); stopping")
        }
    }

    func saveCheckpoint(isBest: Bool) throws {
        guard group.isRoot else { return }
        var state = task.runState(step: step, streams: streams, best: best)
        state.extra["world_size"] = group.size
        let url = try run.store.save(step: step, model: task.checkpointParameters, optimizer: trainingStep.optimizer,
                                     state: try state.encoded(), isBest: isBest)
        emit(.checkpoint(path: url.path, step: step))
    }
}

/// Where a resumed run continues.
public struct ResumePoint {
    public var checkpoint: URL
    public var step: Int
    public var streams: TrainingStreams
    public var best: Double?

    public init(checkpoint: URL, state: RunState, best: Double?) {
        self.checkpoint = checkpoint
        step = state.step
        streams = TrainingStreams(batch: state.batchRNG, dropout: state.dropoutRNG)
        self.best = best
    }
}
