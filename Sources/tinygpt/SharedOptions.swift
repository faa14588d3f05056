// Option groups that several commands share, each flag mapped straight to a typed config field, and
// the closed choices as enums so the parser validates them and --help lists them.
import ArgumentParser
import Checkpoint
import Config
import Evaluate
import Foundation
import Train

/// Where a training run writes, and what it continues.
struct RunLocationOptions: ParsableArguments {
    @Option(name: .long, help: "Run directory for checkpoints and metrics.jsonl.")
    var out: String?
    @Option(name: .long, help: "Resume from a step directory, a run directory, or 'auto' (this run's latest).")
    var resume: String?
}

/// The flag of every command that loads a checkpoint's weights.
struct VerifyOptions: ParsableArguments {
    @Flag(name: .customLong("no-verify"),
          help: "Load tensor files without checking them against the SHA-256 digests in state.json.")
    var noVerify = false

    var verify: Bool { !noVerify }
}

/// The optimisation flags of every training command, as config fields.
struct TrainingFlagOptions: ParsableArguments {
    @Option(name: .customLong("max-iters"), help: "Optimiser steps to train for.") var maxIters: Int?
    @Option(name: .customLong("batch-size"), help: "Sequences (rows, packed contexts) per micro-batch.")
    var batchSize: Int?
    @Option(name: .customLong("learning-rate"), help: "Peak learning rate.") var learningRate: Double?
    @Option(name: .customLong("eval-interval"), help: "Steps between evaluations and checkpoints.")
    var evalInterval: Int?
    @Option(name: .long, help: "Random seed.") var seed: Int?
    @Option(name: .long, help: "Threads for our kernels and OpenBLAS (0 = all cores).") var threads: Int?
    @Flag(name: .customLong("allow-oversubscribe"),
          help: "Train even when the memory estimate exceeds this machine's memory.")
    var allowOversubscribe = false
    @Option(name: .customLong("set"), parsing: .singleValue,
            help: "Override any config key: --set warmup_iters=50 (repeatable; applied last).")
    var overrides: [String] = []

    /// (config key, value) for each flag given.
    var fields: [(String, Any?)] {
        [("max_iters", maxIters), ("batch_size", batchSize), ("learning_rate", learningRate),
         ("eval_interval", evalInterval), ("seed", seed), ("threads", threads),
         ("allow_oversubscribe", allowOversubscribe ? true : nil)]
    }

    /// Applies the flags, then --set, on top of `config`.
    func apply<C: Configurable>(to config: inout C, extra: [(String, Any?)] = []) throws {
        try config.apply(flags: fields + extra)
        try config.apply(overrides: overrides, source: "--set")
    }
}

/// A training run on the terminal: Ctrl-C writes a checkpoint and stops (exit status 130), and the
/// run's events print as progress lines. `body` starts the run with the event sink and says whether
/// it was interrupted.
func trainWithProgress(runDirectory: URL? = nil,
                       _ body: (_ events: @escaping (TrainingEvent) -> Void) throws -> Bool) throws {
    Interrupt.install()
    let renderer = TrainingRenderer(runDirectory: runDirectory)
    if try body(renderer.render) { throw ExitCode(130) }
}

extension TaskKind: ExpressibleByArgument {}
extension FinetuneConfig.Metric: ExpressibleByArgument {}
extension AnswerPattern: ExpressibleByArgument {}
