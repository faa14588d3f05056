// `tinygpt plan`: what a pretraining config will cost before it runs — parameters, FLOPs, memory,
// and a time estimate from sgemm and memcpy measured on this machine now.
import ArgumentParser
import Foundation
import Planning
import Train

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Estimate parameters, FLOPs, memory and training time for a pretraining config.",
        discussion: """
            Reads the config as 'tinygpt pretrain' does (defaults < --config file < flags < --set). vocab_size \
            comes from the config, else from the dataset's tokenizer, else --vocab-size. For the time \
            estimate it times the model's own matrix products, its attention and memcpy on this machine \
            now (under 2 s).
            Example: tinygpt plan --config configs/gpt2-124m.json --set batch_size=4
            """)

    @Option(name: .long, help: "JSON config file (e.g. configs/shakespeare-char-cpu.json).")
    var config: String

    @Option(name: .customLong("set"), parsing: .singleValue,
            help: "Override any config key: --set batch_size=32 (repeatable).")
    var overrides: [String] = []

    @Option(name: .long, help: "Dataset directory made by 'tinygpt prepare' (where vocab_size is read from).")
    var dataset: String?
    @Option(name: .customLong("vocab-size"),
            help: "Vocabulary size, for a config without vocab_size whose dataset is not prepared.")
    var vocabSize: Int?
    @Option(name: .long, help: "Threads for our kernels and OpenBLAS (0 = all cores).") var threads: Int?
    @Flag(name: .long, help: "Print one JSON object instead of a table.") var json = false

    func run() throws {
        try runReportingErrors {
            var cfg = try TrainConfig.load(path: config)
            try cfg.apply(flags: [("dataset", dataset), ("vocab_size", vocabSize), ("threads", threads)])
            try cfg.apply(overrides: overrides, source: "--set")

            let plan = try TrainingPlan(config: cfg, source: config)
            let (estimate, measured) = plan.estimateTime()
            let report = PlanReport(configPath: config, plan: plan, estimate: estimate, measured: measured,
                                    physicalMemory: Int(clamping: ProcessInfo.processInfo.physicalMemory))
            if json {
                let data = try JSONSerialization.data(withJSONObject: report.jsonObject,
                                                      options: [.sortedKeys, .withoutEscapingSlashes])
                Terminal.line(String(decoding: data, as: UTF8.self))
            } else {
                for line in report.table { Terminal.line(line) }
            }
            if let warning = report.memoryWarning { Terminal.warning(warning) }
        }
    }
}
