// `tinygpt pretrain`: causal-LM pretraining from a JSON config, with overrides, checkpoints and resume.
import ArgumentParser
import Foundation
import Train

struct PretrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract: "Pretrain a GPT on token shards (see configs/).",
        discussion: "Config files use nanoGPT's key names; precedence is defaults < --config file < flags < --set.")

    @Option(name: .long, help: "JSON config file (e.g. configs/shakespeare-char-cpu.json).")
    var config: String

    @Option(name: .long, help: "Run directory for checkpoints and metrics.jsonl (default: checkpoints/<config name>).")
    var out: String?

    @Option(name: .long, help: "Resume from a step directory, a run directory, or 'auto' (this run's latest).")
    var resume: String?

    @Option(name: .customLong("set"), parsing: .singleValue, help: "Override any config key: --set learning_rate=3e-4 (repeatable).")
    var overrides: [String] = []

    @Option(name: .long, help: "Dataset directory made by 'tinygpt prepare'.") var dataset: String?
    @Option(name: .customLong("max-iters"), help: "Optimiser steps to train for.") var maxIters: Int?
    @Option(name: .customLong("batch-size"), help: "Sequences per micro-batch.") var batchSize: Int?
    @Option(name: .customLong("learning-rate"), help: "Peak learning rate.") var learningRate: Double?
    @Option(name: .customLong("eval-interval"), help: "Steps between loss estimates and checkpoints.") var evalInterval: Int?
    @Option(name: .customLong("eval-iters"), help: "Batches per loss estimate.") var evalIters: Int?
    @Option(name: .long, help: "Random seed.") var seed: Int?
    @Option(name: .long, help: "Threads for our kernels and OpenBLAS (0 = all cores).") var threads: Int?

    func run() throws {
        try runReportingErrors {
            var cfg = try TrainConfig.load(path: config)
            var flags: [String] = []
            if let dataset { flags.append("dataset=\"\(dataset)\"") }
            if let maxIters { flags.append("max_iters=\(maxIters)") }
            if let batchSize { flags.append("batch_size=\(batchSize)") }
            if let learningRate { flags.append("learning_rate=\(learningRate)") }
            if let evalInterval { flags.append("eval_interval=\(evalInterval)") }
            if let evalIters { flags.append("eval_iters=\(evalIters)") }
            if let seed { flags.append("seed=\(seed)") }
            if let threads { flags.append("threads=\(threads)") }
            try cfg.apply(overrides: flags, source: "command-line flag")
            try cfg.apply(overrides: overrides, source: "--set")

            let runName = URL(fileURLWithPath: config).deletingPathExtension().lastPathComponent
            let runDir = URL(fileURLWithPath: out ?? "checkpoints/\(runName)")
            Interrupt.install()
            let renderer = TrainingRenderer()
            let trainer = try Pretrainer(PretrainOptions(config: cfg, runDirectory: runDir, resume: resume),
                                         events: renderer.render)
            let result = try trainer.run()
            if result.interrupted { throw ExitCode(130) }
        }
    }
}
