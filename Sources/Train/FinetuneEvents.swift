// What a fine-tuning run reports besides the step and checkpoint events it shares with pretraining:
// a summary at the start and the task's dev metrics at every evaluation (also the lines of
// RUN/metrics.jsonl with "type": "eval").
import Foundation
import Evaluate

public struct FinetuneSummary {
    public var task: FinetuneConfig.Task
    /// The effective configuration (FinetuneConfig.jsonObject).
    public var config: [String: Any]
    public var parameterCount: Int
    /// Parameters the optimiser updates (fewer with freeze_base).
    public var trainableCount: Int
    public var trainRows: Int
    public var devRows: Int
    /// classify: the label map (index = classifier output).
    public var labels: [String]
    /// The task tokens by name: "start", "delimiter", "extract" (ids appended to the base vocabulary)
    /// or "end" (the tokenizer's end-of-text token, or an appended id when it has none).
    public var addedTokens: [String: Int32]
    public var startStep: Int
    public var resumedFrom: String?
    public var initFrom: String
}

public struct TaskEvalMetrics {
    public var step: Int
    public var task: FinetuneConfig.Task
    /// classify: mean cross-entropy of the classifier over dev rows; generate: mean cross-entropy per
    /// completion token (end token included).
    public var devLoss: Double
    /// classify only.
    public var classification: ClassificationMetrics?
    /// generate only: greedy completions whose answer matched, out of `exactMatchRows` dev rows.
    public var exactMatches: Int?
    public var exactMatchRows: Int?
    /// generate only: the first dev row's prompt, greedy completion and reference (for a glance).
    public var example: (prompt: String, generated: String, reference: String)?
    /// The value `best` is chosen by, and whether this evaluation set a new best.
    public var metric: String
    public var metricValue: Double
    public var isBest: Bool
    public var milliseconds: Double

    /// generate: exact matches / rows (0 when no rows were decoded).
    public var exactMatch: Double? {
        guard let n = exactMatchRows, let k = exactMatches else { return nil }
        return n == 0 ? 0 : Double(k) / Double(n)
    }

    public var jsonObject: [String: Any] {
        var o: [String: Any] = ["type": "eval", "step": step, "task": task.rawValue, "dev_loss": devLoss,
                                "metric": metric, "best": isBest, "ms": milliseconds]
        if let c = classification {
            o["accuracy"] = c.accuracy; o["macro_f1"] = c.macroF1; o["confusion"] = c.confusion; o["labels"] = c.labels
        }
        if let n = exactMatchRows, let k = exactMatches, let em = exactMatch {
            o["exact_match"] = em; o["exact_match_count"] = k; o["exact_match_rows"] = n
        }
        return o
    }
}
