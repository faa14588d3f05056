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
            With --ranks N it also models a data-parallel step on N such machines: each computes 1/N of the \
            micro-batches, then a ring allreduce sums the gradients (2(N-1)/N of their bytes over \
            --network-gbps, plus 2(N-1) rounds of 30 µs latency). That part is a model, not a measurement.
            Example: tinygpt plan --config configs/gpt2-124m.json --set batch_size=4
            Example: tinygpt plan --config configs/gpt2-124m.json --ranks 8 --network-gbps 25 \
            --set gradient_accumulation_steps=8
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
    @Option(name: .long, help: "Data-parallel ranks (machines like this one) to model; 1 = one process.")
    var ranks: Int = 1
    @Option(name: .customLong("network-gbps"), help: "With --ranks: the network's bandwidth in Gb/s.")
    var networkGbps: Double = 10

    func run() throws {
        try runReportingErrors {
            var cfg = try TrainConfig.load(path: config)
            try cfg.apply(flags: [("dataset", dataset), ("vocab_size", vocabSize), ("threads", threads)])
            try cfg.apply(overrides: overrides, source: "--set")

            guard ranks >= 1 else { throw ValidationError("--ranks: must be >= 1, got \(ranks)") }
            guard networkGbps > 0 && networkGbps.isFinite else {
                throw ValidationError("--network-gbps: must be a positive number, got \(networkGbps)")
            }
            if cfg.gradientAccumulationSteps % ranks != 0 {
                let accumulation = cfg.gradientAccumulationSteps
                throw ValidationError("--ranks \(ranks): gradient_accumulation_steps (\(accumulation)) must be a "
                    + "multiple of the ranks; try --set gradient_accumulation_steps=\(ranks)")
            }
            let plan = try TrainingPlan(config: cfg, source: config)
            let (estimate, measured) = plan.estimateTime()
            let parallel = ranks > 1
                ? DataParallelEstimate(ranks: ranks, stepMs: estimate.stepMs,
                                       gradientBytes: plan.memory.gradients, gigabitsPerSecond: networkGbps)
                : nil
            let report = PlanReport(configPath: config, plan: plan, estimate: estimate, measured: measured,
                                    physicalMemory: Int(clamping: ProcessInfo.processInfo.physicalMemory),
                                    parallel: parallel)
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
