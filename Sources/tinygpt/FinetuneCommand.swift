// `tinygpt finetune`: adapt a pretrained checkpoint to labelled data — GPT-1 classification or
// instruction tuning — with dev metrics, checkpoints and resume.
import ArgumentParser
import Checkpoint
import Evaluate
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

    @Option(name: .customLong("init"),
            help: "Pretraining checkpoint (step or run directory), or 'scratch' with --config.")
    var initFrom: String
    @Option(name: .long,
            help: "With --init scratch: a pretraining config file giving the model shape and the dataset tokenizer.")
    var config: String?
    @Option(name: .long, help: "The task.") var task: TaskKind
    @Option(name: .long, help: "Training rows (JSONL).") var train: String
    @Option(name: .long, help: "Dev rows (JSONL), evaluated every --eval-interval steps.") var dev: String
    @OptionGroup var location: RunLocationOptions
    @Option(name: .customLong("lm-weight"),
            help: "λ: weight of the language-modelling loss on the input (classify; 0 turns it off).")
    var lmWeight: Double?
    @Flag(name: .customLong("freeze-base"), help: "Train only the classifier head and the added task-token embeddings.")
    var freezeBase = false
    @Option(name: .long, help: "generate: prompt template containing {prompt}.") var template: String?
    @Flag(name: .long, help: "generate: pack several rows into each context (attention never crosses rows).")
    var pack = false
    @Option(name: .customLong("answer-pattern"),
            help: "generate: none (whole completion) or gsm8k (the number after ####).")
    var answerPattern: AnswerPattern?
    @Option(name: .customLong("dev-limit"), help: "generate: dev rows decoded greedily for exact match.")
    var devLimit: Int?
    @Option(name: .customLong("max-new-tokens"), help: "generate: longest greedy completion at evaluation.")
    var maxNewTokens: Int?
    @Option(name: .long, help: "Keep `best` by accuracy (exact match for generate) or loss.")
    var metric: FinetuneConfig.Metric?
    @OptionGroup var training: TrainingFlagOptions
    @OptionGroup var verification: VerifyOptions

    func run() throws {
        try runReportingErrors {
            if config != nil && initFrom != "scratch" {
                throw ValidationError("--config is only used with --init scratch "
                                      + "(a checkpoint brings its own model shape)")
            }
            var cfg = FinetuneConfig()
            try training.apply(to: &cfg, extra: [
                ("task", task.rawValue), ("init", initFrom), ("train_file", train), ("dev_file", dev),
                ("pack", pack), ("freeze_base", freezeBase), ("model_config", config), ("lm_weight", lmWeight),
                ("template", template), ("answer_pattern", answerPattern?.rawValue), ("dev_limit", devLimit),
                ("max_new_tokens", maxNewTokens), ("metric", metric?.rawValue),
            ])
            let runDir = URL(fileURLWithPath: location.out ?? "checkpoints/finetune-\(cfg.task.rawValue)")
            try trainWithProgress(runDirectory: runDir) { events in
                let options = FinetuneOptions(config: cfg, runDirectory: runDir, resume: location.resume,
                                              verifyCheckpoints: verification.verify)
                let result = try Finetuner(options, events: events).run()
                if let best = result.bestMetric {
                    let name = cfg.effectiveMetric == .loss ? "dev loss"
                        : (cfg.task == .classify ? "dev accuracy" : "dev exact match")
                    let path = runDir.appendingPathComponent("best").path
                    Terminal.line(String(format: "best %@ %.4f (checkpoint %@)", name, best, path))
                }
                return result.interrupted
            }
        }
    }
}
