// The fields every training run shares, pretraining and fine-tuning alike: batch, steps, AdamW,
// the learning-rate schedule, clipping, and the evaluation, logging and checkpoint cadence. Each run's
// config embeds them and sets its own defaults (nanoGPT's train.py for pretraining, GPT-1's recipe
// for fine-tuning).
import Foundation
import Config
import Optim

public struct OptimizationConfig: Configurable, Equatable {
    public var batchSize = 12
    public var gradientAccumulationSteps = 1
    public var maxIters = 600_000
    public var learningRate = 6e-4
    public var weightDecay = 0.1
    public var beta1 = 0.9
    public var beta2 = 0.95
    public var eps = 1e-8
    public var gradClip = 1.0
    public var decayLR = true
    public var warmupIters = 2000
    /// nil: decay over max_iters.
    public var lrDecayIters: Int? = 600_000
    public var minLR = 6e-5
    public var evalInterval = 2000
    public var logInterval = 1
    public var alwaysSaveCheckpoint = true
    public var keepLast = 3
    // The bad-step guard: a step whose loss or gradient norm is not finite, or whose loss is more than
    // loss_spike_zscore standard deviations above the last 100 steps' mean (0: off; llm.c's
    // skip_update_lossz), skips its update. bad_step_limit such steps in a row either stop the run or
    // roll the weights back to the last checkpoint and multiply the learning rate by rollback_lr_scale.
    public var onBadStep = BadStepPolicy.stop
    public var badStepLimit = 5
    public var lossSpikeZScore = 0.0
    public var rollbackLRScale = 0.5
    /// Train even when the memory estimate exceeds this machine's memory (MemoryCheck).
    public var allowOversubscribe = false

    public init() {}

    public static let fields: [ConfigField<OptimizationConfig>] = [
        .int("batch_size", \.batchSize, min: 1),
        .int("gradient_accumulation_steps", \.gradientAccumulationSteps, min: 1),
        .int("max_iters", \.maxIters),
        .double("learning_rate", \.learningRate),
        .double("weight_decay", \.weightDecay),
        .double("beta1", \.beta1, below: 1),
        .double("beta2", \.beta2, below: 1),
        .double("eps", \.eps),
        .double("grad_clip", \.gradClip),
        .bool("decay_lr", \.decayLR),
        .int("warmup_iters", \.warmupIters),
        .optionalInt("lr_decay_iters", \.lrDecayIters),
        .double("min_lr", \.minLR),
        .int("eval_interval", \.evalInterval, min: 1),
        .int("log_interval", \.logInterval, min: 1),
        .bool("always_save_checkpoint", \.alwaysSaveCheckpoint),
        .int("keep_last", \.keepLast, min: 1),
        .choice("on_bad_step", \.onBadStep),
        .int("bad_step_limit", \.badStepLimit, min: 1),
        .double("loss_spike_zscore", \.lossSpikeZScore),
        .double("rollback_lr_scale", \.rollbackLRScale, below: 1),
        .bool("allow_oversubscribe", \.allowOversubscribe),
    ]

    public func validate(source: String) throws {
        if minLR > learningRate {
            throw ConfigError(source: source, message: "min_lr (\(minLR)) must not exceed learning_rate " +
                    "(\(learningRate))")
        }
    }

    public var schedule: LearningRateSchedule {
        LearningRateSchedule(learningRate: learningRate, minLR: minLR, warmupIters: warmupIters,
                             lrDecayIters: lrDecayIters ?? maxIters, decayLR: decayLR)
    }
}

/// What bad_step_limit bad steps in a row do.
public enum BadStepPolicy: String, CaseIterable, Sendable {
    /// Stop with a message (the last checkpoint is good: no update of a bad step was applied).
    case stop
    /// Reload the last checkpoint's weights and optimizer moments, keep the data position, and scale
    /// the learning rate down.
    case rollback
}
