// The "finetune" object that fine-tuning checkpoints add to state.json (RunState.extra), holding what
// evaluation needs to rebuild the input format and what resume needs beyond RunState's fields:
//   "task": "classify" | "generate"
//   "base_vocab_size": V, the initial model's vocabulary; ids from V on were added by fine-tuning
//   "tokens": {"start": V, "delimiter": V+1, "extract": V+2} (classify) or {"end": id} (generate)
//   "labels": ["0", "1"] (classify: index = the classifier's output row)
//   "template": "...{prompt}..." (generate)
//   "epoch", "cursor", "pool_batch": the training data position (BatchPlan); "best_metric": the best
//   dev value so far
//   "init": where the weights came from
// The run kinds are "finetune-classify" and "finetune-generate".
import Foundation

/// The fine-tuning tasks.
public enum TaskKind: String, CaseIterable, Sendable { case classify, generate }

public struct FinetuneState {
    public static let key = "finetune"

    public var task: TaskKind
    public var baseVocabSize: Int
    public var tokens: [String: Int32]
    public var labels: [String]
    public var template: String?
    public var epoch: Int
    public var cursor: Int
    public var poolBatch: Int = 0
    public var bestMetric: Double?
    public var initFrom: String

    public init(task: TaskKind, baseVocabSize: Int, tokens: [String: Int32], labels: [String],
                template: String?, epoch: Int = 0, cursor: Int = 0, bestMetric: Double? = nil, initFrom: String) {
        self.task = task; self.baseVocabSize = baseVocabSize; self.tokens = tokens; self.labels = labels
        self.template = template; self.epoch = epoch; self.cursor = cursor; self.bestMetric = bestMetric
        self.initFrom = initFrom
    }

    public static func kind(_ task: TaskKind) -> String { "finetune-" + task.rawValue }

    public var jsonObject: [String: Any] {
        var o: [String: Any] = ["task": task.rawValue, "base_vocab_size": baseVocabSize,
                                "tokens": tokens.mapValues { Int($0) }, "epoch": epoch, "cursor": cursor,
                                "pool_batch": poolBatch, "init": initFrom]
        if task == .classify { o["labels"] = labels }
        if let template { o["template"] = template }
        if let bestMetric { o["best_metric"] = bestMetric }
        return o
    }

    /// Reads the fine-tuning fields of a checkpoint's state; `source` names state.json in errors.
    public static func decode(_ state: RunState, source: String) throws -> FinetuneState {
        func fail(_ m: String) -> CheckpointError { CheckpointError("\(source): \(m)") }
        guard state.kind.hasPrefix("finetune-") else {
            throw fail("checkpoint kind is \"\(state.kind)\", not a fine-tuning run (finetune-classify or " +
                    "finetune-generate)")
        }
        guard let o = state.extra[key] as? [String: Any] else { throw fail("missing the \"\(key)\" object") }
        guard let t = o["task"] as? String, let task = TaskKind(rawValue: t),
              state.kind == kind(task) else {
            throw fail("\"\(key).task\" is missing or does not match the kind \"\(state.kind)\"")
        }
        guard let base = o["base_vocab_size"] as? Int, base > 0, let rawTokens = o["tokens"] as? [String: Int],
              let epoch = o["epoch"] as? Int, let cursor = o["cursor"] as? Int else {
            throw fail("\"\(key)\" lacks one of base_vocab_size, tokens, epoch, cursor")
        }
        let tokens = rawTokens.mapValues { Int32(clamping: $0) }
        for (name, id) in tokens where id < 0 || Int(id) >= state.model.vocabSize {
            throw fail("task token \"\(name)\" has id \(id), outside the model's \(state.model.vocabSize) tokens")
        }
        var labels: [String] = []
        if task == .classify {
            guard let l = o["labels"] as? [String], !l.isEmpty else { throw fail("\"\(key).labels\" is missing or " +
                    "empty") }
            guard tokens["start"] != nil, tokens["delimiter"] != nil, tokens["extract"] != nil else {
                throw fail("\"\(key).tokens\" needs start, delimiter and extract")
            }
            labels = l
        } else {
            guard tokens["end"] != nil else { throw fail("\"\(key).tokens\" needs end") }
            guard o["template"] is String else { throw fail("\"\(key).template\" is missing") }
        }
        var ft = FinetuneState(task: task, baseVocabSize: base, tokens: tokens, labels: labels,
                               template: o["template"] as? String, epoch: epoch, cursor: cursor,
                               bestMetric: o["best_metric"] as? Double, initFrom: (o["init"] as? String) ?? "")
        ft.poolBatch = (o["pool_batch"] as? Int) ?? 0
        return ft
    }
}
