// A fine-tuning task's dev metrics: a classifier's loss, accuracy, macro-F1 and confusion matrix; an
// instruction model's completion loss and the exact match of greedy completions on the first
// dev_limit rows. No gradients, no dropout, and the training streams and data order are untouched.
// Each loop asks `isCancelled` between batches (and between greedy completions) and gives up with nil.
import Foundation
import Autograd
import Data
import Evaluate
import Kernels
import NN

extension FinetuneTask {
    public func evaluate(step: Int, dropoutRNG: RandomGenerator, isCancelled: () -> Bool) -> TaskEvalMetrics? {
        config.task == .classify ? evaluateClassifier(step: step, isCancelled: isCancelled)
                                 : evaluateGenerator(step: step, isCancelled: isCancelled)
    }

    func evaluateClassifier(step: Int, isCancelled: () -> Bool) -> TaskEvalMetrics? {
        let head = head!, k = head.labelCount
        guard let logits = classifierLogits(model: model, head: head, rows: devRows.map(\.ids),
                                            batchSize: config.batchSize, isCancelled: isCancelled) else { return nil }
        var lossSum = 0.0
        for (i, r) in devRows.enumerated() {
            let row = logits[(i * k)..<((i + 1) * k)]
            let mx = Double(row.max()!)
            let lse = mx + log(row.reduce(0.0) { $0 + exp(Double($1) - mx) })
            lossSum += lse - Double(row[i * k + Int(r.label)])
        }
        let c = ClassificationMetrics(predictions: argmaxRows(logits, labels: k),
                                      targets: devRows.map { Int($0.label) }, labels: labels)
        let devLoss = lossSum / Double(devRows.count)
        let metric = config.effectiveMetric
        return TaskEvalMetrics(step: step, task: .classify, devLoss: devLoss, classification: c,
                               metric: metric.rawValue, metricValue: metric == .accuracy ? c.accuracy : devLoss,
                               isBest: false, milliseconds: 0)
    }

    func evaluateGenerator(step: Int, isCancelled: () -> Bool) -> TaskEvalMetrics? {
        // Completion loss: token-weighted mean over every dev row.
        var lossSum = 0.0, count = 0
        var unusedRNG = RandomGenerator(seed: 0)
        let byLength = devRows.sorted { $0.ids.count < $1.ids.count }  // little padding
        let finished = withoutGrad { () -> Bool in
            var start = 0
            while start < byLength.count {
                if isCancelled() { return false }
                let rows = Array(byLength[start..<min(start + config.batchSize, byLength.count)])
                let batch = TaskBatch.generate(rows)
                let n = batch.targets.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) }
                if n > 0 {
                    lossSum += Double(loss(batch, training: false, rng: &unusedRNG).loss.item) * Double(n)
                    count += n
                }
                start += rows.count
            }
            return true
        }
        guard finished else { return nil }
        // Exact match of greedy completions on the first dev_limit rows.
        var matches = 0
        var example: (prompt: String, generated: String, reference: String)? = nil
        let end = endToken!
        for (i, p) in devPrompts.enumerated() {
            if isCancelled() { return nil }
            var sampler = Sampler(options: SamplingOptions(temperature: 0), seed: 0)
            let out = (try? model.generate(prompt: p.ids, maxNewTokens: config.maxNewTokens,
                                           sampler: &sampler) { $0 != end }) ?? []
            let text = tokenizer.decode(out.filter { $0 != end && Int($0) < tokenizer.vocabSize })
            if let want = config.answerPattern.extract(p.reference),
               let got = config.answerPattern.extract(text),
               want == got {
                matches += 1
            }
            if i == 0 { example = (p.prompt, text, p.reference) }
        }
        let devLoss = count > 0 ? lossSum / Double(count) : 0
        let em = devPrompts.isEmpty ? 0 : Double(matches) / Double(devPrompts.count)
        let metric = config.effectiveMetric
        return TaskEvalMetrics(step: step, task: .generate, devLoss: devLoss, exactMatches: matches,
                               exactMatchRows: devPrompts.count, example: example, metric: metric.rawValue,
                               metricValue: metric == .accuracy ? em : devLoss, isBest: false, milliseconds: 0)
    }
}

extension TaskEvalMetrics: EvaluationReport {
    public var higherIsBetter: Bool { metric == FinetuneConfig.Metric.accuracy.rawValue }
    public var event: TrainingEvent { .finetuneEval(self) }
}
