// `tinygpt finetune`: adapt a pretrained checkpoint to labelled data — GPT-1 classification or
// instruction tuning — with dev metrics, checkpoints and resume.
import ArgumentParser
import Foundation
import Train

struct FinetuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Fine-tune a pretrained GPT to classify text or to follow instructions.",
        discussion: """
            classify: JSONL rows {"text", "label"[, "text_b"]}; the input is start + text (+ delimiter + \
            text_b) + extract, a linear head reads the extract token, and the loss adds lm_weight times the \
            language-modelling loss on the input (GPT-1). Labels (strings or integers) are ordered \
            numerically when all are integers, else alphabetically; the map is saved in the checkpoint.
            generate: JSONL rows {"prompt", "completion"} rendered with --template; the loss covers the \
            completion and the end-of-text token only.
            Precedence: defaults < flags < --set key=value (keys: \(FinetuneConfig.keys.joined(separator: ", "))).
            Example: tinygpt finetune --init checkpoints/sst2 --task classify --train sst2/train.jsonl \
            --dev sst2/dev.jsonl --out checkpoints/sst2-classify
            """)

    @Option(name: .customLong("init"), help: "Pretraining checkpoint (step or run directory), or 'scratch' with --config.")
    var initFrom: String
    @Option(name: .long, help: "With --init scratch: a pretraining config file giving the model shape and the dataset tokenizer.")
    var config: String?
    @Option(name: .long, help: "classify or generate.") var task: String
    @Option(name: .long, help: "Training rows (JSONL).") var train: String
    @Option(name: .long, help: "Dev rows (JSONL), evaluated every --eval-interval steps.") var dev: String
    @Option(name: .long, help: "Run directory for checkpoints and metrics.jsonl (default: checkpoints/finetune-<task>).")
    var out: String?
    @Option(name: .long, help: "Resume from a step directory, a run directory, or 'auto' (this run's latest).")
    var resume: String?
    @Option(name: .customLong("lm-weight"), help: "λ: weight of the language-modelling loss on the input (classify; 0 turns it off).")
    var lmWeight: Double?
    @Flag(name: .customLong("freeze-base"), help: "Train only the classifier head and the added task-token embeddings.")
    var freezeBase = false
    @Option(name: .long, help: "generate: prompt template containing {prompt}.") var template: String?
    @Flag(name: .long, help: "generate: pack several rows into each context (attention never crosses rows).")
    var pack = false
    @Option(name: .customLong("answer-pattern"), help: "generate: none (whole completion) or gsm8k (the number after ####).")
    var answerPattern: String?
    @Option(name: .customLong("dev-limit"), help: "generate: dev rows decoded greedily for exact match.") var devLimit: Int?
    @Option(name: .customLong("max-new-tokens"), help: "generate: longest greedy completion at evaluation.") var maxNewTokens: Int?
    @Option(name: .long, help: "Keep `best` by accuracy (exact match for generate) or loss.") var metric: String?
    @Option(name: .customLong("max-iters"), help: "Optimiser steps to train for.") var maxIters: Int?
    @Option(name: .customLong("batch-size"), help: "Rows (or packed contexts) per step.") var batchSize: Int?
    @Option(name: .customLong("learning-rate"), help: "Peak learning rate.") var learningRate: Double?
    @Option(name: .customLong("eval-interval"), help: "Steps between dev evaluations and checkpoints.") var evalInterval: Int?
    @Option(name: .long, help: "Random seed.") var seed: Int?
    @Option(name: .long, help: "Threads for our kernels and OpenBLAS (0 = all cores).") var threads: Int?
    @Option(name: .customLong("set"), parsing: .singleValue, help: "Override any key: --set warmup_iters=50 (repeatable).")
    var overrides: [String] = []

    func run() throws {
        try runReportingErrors {
            var cfg = FinetuneConfig()
            // Flags become key=value overrides (text keys are taken verbatim, the rest parse as JSON).
            var flags = ["task=\(task)", "init=\(initFrom)", "train_file=\(train)", "dev_file=\(dev)",
                         "pack=\(pack)", "freeze_base=\(freezeBase)"]
            if let config { flags.append("model_config=\(config)") }
            if let lmWeight { flags.append("lm_weight=\(lmWeight)") }
            if let template { flags.append("template=\(template)") }
            if let answerPattern { flags.append("answer_pattern=\"\(answerPattern)\"") }
            if let devLimit { flags.append("dev_limit=\(devLimit)") }
            if let maxNewTokens { flags.append("max_new_tokens=\(maxNewTokens)") }
            if let metric { flags.append("metric=\"\(metric)\"") }
            if let maxIters { flags.append("max_iters=\(maxIters)") }
            if let batchSize { flags.append("batch_size=\(batchSize)") }
            if let learningRate { flags.append("learning_rate=\(learningRate)") }
            if let evalInterval { flags.append("eval_interval=\(evalInterval)") }
            if let seed { flags.append("seed=\(seed)") }
            if let threads { flags.append("threads=\(threads)") }
            try cfg.apply(overrides: flags, source: "command-line flag")
            try cfg.apply(overrides: overrides, source: "--set")
            if config != nil && initFrom != "scratch" {
                throw ValidationError("--config is only used with --init scratch (a checkpoint brings its own model shape)")
            }

            let runDir = URL(fileURLWithPath: out ?? "checkpoints/finetune-\(cfg.task.rawValue)")
            Interrupt.install()
            let renderer = TrainingRenderer()
            let trainer = try Finetuner(FinetuneOptions(config: cfg, runDirectory: runDir, resume: resume),
                                        events: renderer.render)
            let result = try trainer.run()
            if let best = result.bestMetric {
                let name = cfg.effectiveMetric == "loss" ? "dev loss" : (cfg.task == .classify ? "dev accuracy" : "dev exact match")
                Terminal.line(String(format: "best %@ %.4f (checkpoint %@)", name, best, runDir.appendingPathComponent("best").path))
            }
            if result.interrupted { throw ExitCode(130) }
        }
    }
}
