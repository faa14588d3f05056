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
    /// The learning rate's factor after rollbacks (on_bad_step = rollback), saved in checkpoints.
    public private(set) var lrScale = 1.0
    var badSteps: BadStepGuard
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
        badSteps = BadStepGuard(config)
        trainingStep = TrainingStep(objective: task, optimization: config, group: group)
        if let start {
            try CheckpointStore.load(from: start.checkpoint, into: task.checkpointParameters,
                                     optimizer: trainingStep.optimizer, verify: start.verify)
            step = start.step; streams = start.streams; best = start.best; resumedFrom = start.checkpoint.path
            lrScale = start.lrScale
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
        // Ctrl-C (or SIGTERM) between steps, or during an evaluation, which it cuts short: a checkpoint of
        // this step, then stop.
        func stop() throws -> TrainingOutcome<Task.Evaluation> {
            try saveCheckpoint(isBest: false)
            emit(.interrupted(step: step))
            return TrainingOutcome(step: step, lastEvaluation: last, best: best, interrupted: true,
                                   seconds: Date().timeIntervalSince(t0))
        }
        if step == 0 && config.maxIters > 0 {
            guard let e = evaluate(isCancelled: interruptRequested) else { return try stop() }
            last = e
        }
        while step < config.maxIters {
            if interruptRequested() { return try stop() }
            try takeStep()
            if let failure = run.metrics?.failure { throw failure }
            if step % config.evalInterval == 0 || step == config.maxIters {
                guard let e = evaluate(isCancelled: interruptRequested) else { return try stop() }
                last = e
                if let failure = run.metrics?.failure { throw failure }
                try checkRanksAgree()
                if !e.metricValue.isFinite {
                    // Weights that score a non-finite value are never checkpointed (nor rolled back to).
                    emit(.warning("step \(step): the evaluation is not finite; no checkpoint written"))
                } else if config.alwaysSaveCheckpoint || e.isBest || step == config.maxIters {
                    try saveCheckpoint(isBest: e.isBest)
                }
            }
        }
        let seconds = Date().timeIntervalSince(t0)
        emit(.finished(step: step, seconds: seconds))
        return TrainingOutcome(step: step, lastEvaluation: last, best: best, interrupted: false, seconds: seconds)
    }

    /// One optimiser step (unless the bad-step guard refuses its update), then its log line every
    /// log_interval steps and after every refused update.
    func takeStep() throws {
        let t0 = DispatchTime.now().uptimeNanoseconds
        var problem: String? = nil
        let out = trainingStep.run(step: step, streams: &streams, lrScale: lrScale) { loss, norm in
            problem = badSteps.verdict(loss: loss, gradNorm: norm)
            return problem == nil
        }
        step += 1
        let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
        let m = StepMetrics(step: step, maxSteps: config.maxIters, loss: out.loss, learningRate: out.learningRate,
                            gradNorm: out.gradNorm, milliseconds: ms,
                            tokensPerSecond: Double(out.tokens) / (ms / 1000))
        if step % config.logInterval == 0 || step == config.maxIters || out.skipped {
            var record = m.jsonObject
            for (k, v) in out.parts { record[k] = v }
            if out.skipped { record["skipped"] = true }
            run.metrics?.append(record)
            emit(.step(m))
        }
        guard let problem else {
            _ = badSteps.record(loss: Double(out.loss), bad: false)
            return
        }
        emit(.warning("step \(step): \(problem); its update was skipped"))
        if badSteps.record(loss: Double(out.loss), bad: true) { try recoverFromBadSteps(problem) }
    }

    /// bad_step_limit bad steps in a row: stop, or roll back to the last checkpoint at a lower rate.
    func recoverFromBadSteps(_ problem: String) throws {
        let latest = try run.store.checkpoints().last
        let advice = "lower learning_rate, raise warmup_iters, or set on_bad_step=rollback"
        guard config.onBadStep == .rollback else {
            throw TrainingError(source: "step \(step)", message: "\(config.badStepLimit) bad steps in a row (last: "
                + "\(problem)); none of their updates was applied"
                + (latest.map { ", and \($0.url.path) is the last checkpoint" } ?? "") + "; \(advice)")
        }
        guard let latest else {
            throw TrainingError(source: "step \(step)", message: "\(config.badStepLimit) bad steps in a row (last: "
                + "\(problem)) and no checkpoint to roll back to yet; lower learning_rate or raise warmup_iters")
        }
        try CheckpointStore.load(from: latest.url, into: task.checkpointParameters, optimizer: trainingStep.optimizer)
        lrScale *= config.rollbackLRScale
        badSteps.reset()
        emit(.warning("step \(step): rolled the weights back to \(latest.url.lastPathComponent); the learning rate "
            + "is now \(lrScale) of the schedule's (the data position moves on)"))
    }

    /// The task's evaluation, marked best when it beats every earlier one after the first step (the
    /// step-0 evaluation scores the starting weights, which have no checkpoint of this run).
    @discardableResult
    public func evaluate() -> Task.Evaluation {
        // Never nil: a task returns nil only after `isCancelled` said true.
        evaluate(isCancelled: { false })!
    }

    /// The same, or nil when `isCancelled` cut it short: then nothing is logged and `best` is unchanged.
    func evaluate(isCancelled: () -> Bool) -> Task.Evaluation? {
        let t0 = DispatchTime.now().uptimeNanoseconds
        guard var e = task.evaluate(step: step, dropoutRNG: streams.dropout, isCancelled: isCancelled) else {
            return nil
        }
        e.isBest = step > 0 && e.metricValue.isFinite
            && (best.map { e.higherIsBetter ? e.metricValue > $0 : e.metricValue < $0 } ?? true)
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
        if let bad = task.checkpointParameters.first(where: { p in
            !UnsafeBufferPointer(start: p.tensor.data, count: p.tensor.count).allSatisfy(\.isFinite)
        }) {
            emit(.warning("step \(step): \(bad.name) holds non-finite values; no checkpoint written"))
            return
        }
        var state = task.runState(step: step, streams: streams, best: best)
        state.extra["world_size"] = group.size
        if lrScale != 1 { state.extra["lr_scale"] = lrScale }
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
    public var lrScale: Double
    /// Check the checkpoint's tensor files against the digests in its state.json.
    public var verify: Bool

    public init(checkpoint: URL, state: RunState, best: Double?, verify: Bool = true) {
        self.checkpoint = checkpoint
        self.verify = verify
        step = state.step
        streams = TrainingStreams(batch: state.batchRNG, dropout: state.dropoutRNG)
        self.best = best
        lrScale = state.extra["lr_scale"] as? Double ?? 1
    }
}
