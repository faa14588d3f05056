// What a run reports as it goes. The library never prints: the command line renders these events
// (a live progress line on a terminal, plain lines otherwise) and tests inspect them.
import Foundation

public struct StepMetrics: Equatable {
    public var step: Int            // optimiser steps completed, including this one
    public var maxSteps: Int
    public var loss: Float          // mean training loss over this step's micro-batches
    public var learningRate: Double
    public var gradNorm: Double     // global norm before clipping
    public var milliseconds: Double
    public var tokensPerSecond: Double

    public var jsonObject: [String: Any] {
        ["type": "step", "step": step, "loss": Double(loss), "lr": learningRate, "grad_norm": gradNorm,
         "ms": milliseconds, "tokens_per_s": tokensPerSecond]
    }
}

public struct EvalMetrics: Equatable {
    public var step: Int
    public var trainLoss: Double
    public var valLoss: Double
    public var isBest: Bool
    public var milliseconds: Double

    public var jsonObject: [String: Any] {
        ["type": "eval", "step": step, "train_loss": trainLoss, "val_loss": valLoss, "best": isBest, "ms": milliseconds]
    }
}

public enum TrainingEvent {
    case pretrainStarted(config: TrainConfig, parameterCount: Int, startStep: Int, resumedFrom: String?)
    case step(StepMetrics)
    case pretrainEval(EvalMetrics)
    case checkpoint(path: String, step: Int)
    case interrupted(step: Int)
    case finished(step: Int, seconds: Double)
    case note(String)
    /// Fine-tuning: the run's summary (instead of `started`), its dev metrics, and warnings such as
    /// rows truncated to the context.
    case finetuneStarted(FinetuneSummary)
    case finetuneEval(TaskEvalMetrics)
    case warning(String)
}
