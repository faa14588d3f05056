// Renders training events: the effective config once, a live progress line with ETA on a terminal
// (plain lines otherwise), eval results and checkpoints as permanent lines.
import Foundation
import Train

final class TrainingRenderer {
    private var startTime = Date()
    private var startStep = 0
    private var lastEval: EvalMetrics?
    private let report: RunReportWriter?

    init(runDirectory: URL? = nil) { report = runDirectory.map(RunReportWriter.init) }

    func render(_ event: TrainingEvent) {
        switch event {
        case let .pretrainStarted(config, parameterCount, startStep, resumedFrom):
            self.startStep = startStep
            startTime = Date()
            if let data = try? JSONSerialization.data(withJSONObject: config.jsonObject, options: [.sortedKeys]) {
                Terminal.line("config: " + String(decoding: data, as: UTF8.self))
            }
            // In Double: the product of three configured sizes may not fit an Int.
            let tokens = Double(config.batchSize) * Double(config.blockSize) * Double(config.gradientAccumulationSteps)
            Terminal.line(String(format: "model: %.2fM parameters; %.0f tokens per " +
                    "step", Double(parameterCount) / 1e6, tokens))
            if let r = resumedFrom { Terminal.line("resumed from \(r) at step \(startStep)") }
        case let .step(m):
            let done = m.step - startStep, left = m.maxSteps - m.step
            let elapsed = Date().timeIntervalSince(startTime)
            let eta = done > 0 ? elapsed / Double(done) * Double(left) : .nan
            var text = String(format: "step %d/%d | loss %.4f | lr %.2e | norm %.2f | %.1f ms | %.0f tok/s",
                              m.step, m.maxSteps, m.loss, m.learningRate, m.gradNorm, m.milliseconds, m.tokensPerSecond)
            if Terminal.isTTY { text += " | ETA " + Terminal.duration(eta) }
            if let e = lastEval, Terminal.isTTY { text += String(format: " | val %.4f", e.valLoss) }
            Terminal.live(text)
        case let .pretrainEval(e):
            lastEval = e
            report?.evaluated("val loss", e.valLoss)
            Terminal.line(String(format: "step %d: train loss %.4f, val loss %.4f%@ (%.1f s)", e.step, e.trainLoss,
                                 e.valLoss, e.isBest ? " (best)" : "", e.milliseconds / 1000))
        case let .checkpoint(path, step):
            Terminal.line("saved checkpoint \(path) (step \(step))")
        case let .interrupted(step):
            Terminal.line("interrupted at step \(step); resume with --resume auto")
        case let .finished(step, seconds):
            Terminal.line("finished at step \(step) in \(Terminal.duration(seconds))")
            if let line = report?.summary() { Terminal.line(line) }
        case let .note(text):
            Terminal.line(text)
        case let .finetuneStarted(s):
            startStep = s.startStep
            startTime = Date()
            if let data = try? JSONSerialization.data(withJSONObject: s.config,
                                                      options: [.sortedKeys, .withoutEscapingSlashes]) {
                Terminal.line("config: " + String(decoding: data, as: UTF8.self))
            }
            Terminal.line(String(format: "model: %.2fM parameters (%.2fM trained); task %@; %d train rows, %d dev rows",
                                 Double(s.parameterCount) / 1e6, Double(s.trainableCount) / 1e6, s.task.rawValue,
                                 s.trainRows, s.devRows))
            if !s.labels.isEmpty {
                Terminal.line("labels: " + s.labels.enumerated().map { "\($0)=\($1)" }.joined(separator: " "))
            }
            if !s.addedTokens.isEmpty {
                let pairs = s.addedTokens.sorted { $0.value < $1.value }.map { "\($0.key)=\($0.value)" }
                Terminal.line("task tokens: " + pairs.joined(separator: " "))
            }
            if let r = s.resumedFrom { Terminal.line("resumed from \(r) at step \(s.startStep)") }
        case let .finetuneEval(e):
            let best = e.isBest ? " (best)" : ""
            let name = e.metric == "loss" ? "dev loss" : e.classification != nil ? "dev accuracy" : "dev exact match"
            report?.evaluated(name, e.metricValue)
            if let c = e.classification {
                Terminal.line(String(format: "step %d: dev accuracy %.4f, macro-F1 %.4f, loss %.4f%@ (%.1f s)", e.step,
                                     c.accuracy, c.macroF1, e.devLoss, best, e.milliseconds / 1000))
                for line in c.confusionTable { Terminal.line("  " + line) }
            } else {
                var text = String(format: "step %d: dev completion loss %.4f", e.step, e.devLoss)
                if let k = e.exactMatches, let n = e.exactMatchRows, let em = e.exactMatch {
                    text += String(format: ", exact match %d/%d (%.1f%%)", k, n, 100 * em)
                }
                Terminal.line(text + String(format: "%@ (%.1f s)", best, e.milliseconds / 1000))
                if let x = e.example {
                    func short(_ s: String) -> String {
                        let one = s.replacingOccurrences(of: "\n", with: "⏎")
                        return one.count > 100 ? String(one.prefix(99)) + "…" : one
                    }
                    Terminal.line("  prompt:    " + short(x.prompt))
                    Terminal.line("  generated: " + short(x.generated))
                    Terminal.line("  reference: " + short(x.reference))
                }
            }
        case let .warning(text):
            Terminal.warning(text)
        }
    }
}
