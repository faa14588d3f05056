// The effective configuration of a fine-tuning run (saved in state.json and printed at the start).
// Precedence: defaults < flags < --set key=value. Defaults follow the GPT-1 paper's fine-tuning recipe
// where it gives one (Radford et al. 2018, §4.1: batch 32, λ = 0.5, weight decay 0.01, classifier
// dropout 0.1 via the model dropout, β₂ 0.999) and nanoGPT otherwise; the learning rate is higher than
// GPT-1's 6.25e-5 because small models need it.
import Foundation
import Checkpoint
import Config
import Data
import Evaluate

@dynamicMemberLookup
public struct FinetuneConfig: Configurable, Equatable {
    public typealias Task = TaskKind

    /// What `best` is chosen by.
    public enum Metric: String, CaseIterable, Sendable { case accuracy, loss }

    // What to train on
    public var task: Task = .classify
    public var initFrom = ""                 // "init": a pretraining checkpoint, or "scratch"
    public var modelConfig: String? = nil    // "model_config": a pretraining config file (for scratch)
    public var trainFile = ""
    public var devFile = ""
    // Objective
    public var lmWeight = 0.5                // λ of GPT-1's L3 = L2 + λ·L1 (classify only)
    public var freezeBase = false
    public var dropout: Double? = nil        // nil: the initial checkpoint's (or model config's)
    // Generation format and metrics
    public var template = InstructionFormat.defaultTemplate
    public var pack = false
    public var lengthBuckets = true          // batch rows of similar length together (less padding)
    public var answerPattern = AnswerPattern.none
    public var devLimit = 50
    public var maxNewTokens = 128
    public var metric: Metric? = nil         // nil: accuracy (classify), loss (generate)
    // Optimisation, evaluation and checkpoints
    public var optimization = OptimizationConfig.finetuneDefaults
    // Reproducibility and threads
    public var seed = 1337
    public var threads = 0

    public init() {}

    public static let fields: [ConfigField<FinetuneConfig>] = [
        .choice("task", \.task),
        .string("init", \.initFrom, allowEmpty: true),
        .optionalString("model_config", \.modelConfig),
        .string("train_file", \.trainFile, allowEmpty: true),
        .string("dev_file", \.devFile, allowEmpty: true),
        .double("lm_weight", \.lmWeight),
        .bool("freeze_base", \.freezeBase),
        .optionalDouble("dropout", \.dropout, below: 1),
        .string("template", \.template, allowEmpty: true),
        .bool("pack", \.pack),
        .bool("length_buckets", \.lengthBuckets),
        .choice("answer_pattern", \.answerPattern),
        .int("dev_limit", \.devLimit),
        .int("max_new_tokens", \.maxNewTokens, min: 1),
        .optionalChoice("metric", \.metric),
    ] + OptimizationConfig.fields.map { $0.lifted(\.optimization) } + [
        .int("seed", \.seed),
        .int("threads", \.threads),
    ]

    public subscript<T>(dynamicMember path: WritableKeyPath<OptimizationConfig, T>) -> T {
        get { optimization[keyPath: path] }
        set { optimization[keyPath: path] = newValue }
    }

    /// The metric `best` is chosen by, after defaults.
    public var effectiveMetric: Metric { metric ?? (task == .classify ? .accuracy : .loss) }

    public func validate(source: String) throws { try optimization.validate(source: source) }

    /// Cross-field checks once every layer is applied, with the flag to blame in the message.
    public func validate() throws {
        if initFrom.isEmpty {
            throw ConfigError(source: "--init", message: "missing (a pretraining checkpoint, or \"scratch\" with " +
                    "--config)")
        }
        if initFrom == "scratch" && modelConfig == nil {
            throw ConfigError(source: "--init scratch", message: "needs --config FILE (a pretraining config giving " +
                    "the model shape and dataset tokenizer)")
        }
        if trainFile.isEmpty { throw ConfigError(source: "--train", message: "missing (a JSONL file)") }
        if devFile.isEmpty { throw ConfigError(source: "--dev", message: "missing (a JSONL file)") }
        if task == .generate && !template.contains(InstructionFormat.promptPlaceholder) {
            throw ConfigError(source: "--template", message: "must contain \(InstructionFormat.promptPlaceholder), " +
                    "got \"\(template)\"")
        }
        if freezeBase && task == .generate {
            throw ConfigError(source: "--freeze-base", message: "applies to --task classify (it trains the " +
                    "classifier head and the task-token embeddings only)")
        }
        try optimization.validate(source: "min_lr")
    }
}

extension OptimizationConfig {
    /// Fine-tuning's defaults: GPT-1's batch 32, weight decay 0.01 and β₂ 0.999; no warm-up, decay over
    /// max_iters to 0; evaluation every 100 steps.
    public static var finetuneDefaults: OptimizationConfig {
        var o = OptimizationConfig()
        o.batchSize = 32; o.maxIters = 1000; o.learningRate = 1e-4; o.weightDecay = 0.01
        o.beta2 = 0.999; o.warmupIters = 0; o.lrDecayIters = nil; o.minLR = 0
        o.evalInterval = 100; o.logInterval = 10
        return o
    }
}
