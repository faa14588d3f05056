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
    case started(config: TrainConfig, parameterCount: Int, startStep: Int, resumedFrom: String?)
    case step(StepMetrics)
    case eval(EvalMetrics)
    case checkpoint(path: String, step: Int)
    case interrupted(step: Int)
    case finished(step: Int, seconds: Double)
    case note(String)
    /// Fine-tuning: the run's summary (instead of `started`), its dev metrics, and warnings such as
    /// rows truncated to the context.
    case finetuneStarted(FinetuneSummary)
    case taskEval(TaskEvalMetrics)
    case warning(String)
}

/// Appends one JSON object per line to RUN/metrics.jsonl.
public final class MetricsLog {
    private let handle: FileHandle
    public let url: URL

    public init(url: URL) throws {
        self.url = url
        if !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw TrainConfigError(source: url.path, message: "cannot create metrics file")
            }
        }
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
    }

    public func append(_ object: [String: Any]) {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        handle.write(data + Data([0x0A]))
    }

    /// Drops lines whose "step" is greater than `step` (a resumed run rewrites what it repeats).
    public static func truncate(url: URL, afterStep step: Int) throws {
        guard let data = FileManager.default.contents(atPath: url.path) else { return }
        let kept = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true).filter { line in
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let s = obj["step"] as? Int else { return true }
            return s <= step
        }
        let text = kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")
        try Data(text.utf8).write(to: url, options: .atomic)
    }

    deinit { try? handle.close() }
}
