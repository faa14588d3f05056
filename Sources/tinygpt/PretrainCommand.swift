// `tinygpt pretrain`: causal-LM pretraining from a JSON config, with overrides, checkpoints and resume.
import ArgumentParser
import Foundation
import Train

struct PretrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract: "Pretrain a GPT on token shards (see configs/).",
        discussion: """
            Config files use nanoGPT's key names; precedence is defaults < --config file < flags < --set. \
            init_from (or --init-from) starts from a checkpoint's weights with a fresh optimizer and step \
            counter; the dataset must use the checkpoint's tokenizer.
            Example: tinygpt pretrain --config configs/shakespeare-char-cpu.json --out checkpoints/cpu --max-iters 500
            """)

    @Option(name: .long, help: "JSON config file (e.g. configs/shakespeare-char-cpu.json).")
    var config: String
    @OptionGroup var location: RunLocationOptions
    @Option(name: .long, help: "Dataset directory made by 'tinygpt prepare'.") var dataset: String?
    @Option(name: .customLong("init-from"), help: "'scratch', or a checkpoint whose weights start the run.")
    var initFrom: String?
    @Option(name: .customLong("eval-iters"), help: "Batches per loss estimate.") var evalIters: Int?
    @OptionGroup var training: TrainingFlagOptions
    @OptionGroup var verification: VerifyOptions

    func run() throws {
        try runReportingErrors {
            var cfg = try TrainConfig.load(path: config)
            try training.apply(to: &cfg, extra: [("dataset", dataset), ("init_from", initFrom),
                                                 ("eval_iters", evalIters)])
            let runName = URL(fileURLWithPath: config).deletingPathExtension().lastPathComponent
            let runDir = URL(fileURLWithPath: location.out ?? "checkpoints/\(runName)")
            try trainWithProgress(runDirectory: runDir) { events in
                let options = PretrainOptions(config: cfg, runDirectory: runDir, resume: location.resume,
                                              verifyCheckpoints: verification.verify)
                return try Pretrainer(options, events: events).run().interrupted
            }
        }
    }
}
