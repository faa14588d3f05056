// A fine-tuned classifier rebuilt from its checkpoint alone (GPT + classification head + tokenizer +
// the label map and task tokens from state.json), for evaluation and prediction; and the batched
// no-gradient forward pass that training's dev evaluation shares with it.
import Foundation
import Autograd
import Checkpoint
import Data
import Kernels
import NN

public final class FineTunedClassifier {
    /// Label names; predictions are indices into this array.
    public let labels: [String]
    public let model: GPT
    public let head: ClassifierHead
    public let tokenizer: any Tokenizer
    public let format: ClassificationFormat
    public let state: RunState
    public let directory: URL
    /// Rows per forward pass in `predict`.
    public var batchSize = 32

    /// `path`: a step directory, or a run directory (its latest checkpoint) of a finetune-classify run.
    /// `verify`: check the weights against state.json's SHA-256.
    public init(checkpoint path: String, verify: Bool = true) throws {
        let url = try CheckpointStore.resolve(path: path)
        let source = url.appendingPathComponent(CheckpointStore.stateFile).path
        state = try RunState.decode(try CheckpointStore.readState(from: url), source: source)
        guard state.kind == FinetuneState.kind(.classify) else {
            throw EvaluationError(url.path, "checkpoint kind is \"\(state.kind)\", not a fine-tuned classifier " +
                    "(finetune-classify)")
        }
        let ft = try FinetuneState.decode(state, source: source)
        tokenizer = try TokenizerLoader.decode(state.tokenizer, source: source + " (tokenizer)")
        var config = state.model
        config.dropout = 0
        try config.validate()
        model = GPT(config: config, seed: nil, trainable: false)
        head = ClassifierHead(features: config.nEmbd, labels: ft.labels.count, seed: nil, trainable: false)
        try CheckpointStore.load(from: url, into: model.parameters + head.parameters, optimizer: nil, verify: verify)
        labels = ft.labels
        format = ClassificationFormat(tokenizer: tokenizer, baseVocabSize: ft.baseVocabSize,
                                      blockSize: config.blockSize)
        directory = url
    }

    /// The predicted label index of each text (with its pair text when `textsB` is given). Throws for a
    /// text the tokenizer cannot represent, naming the text's 1-based position.
    public func predict(texts: [String], textsB: [String]?) throws -> [Int] {
        precondition(textsB == nil || textsB!.count == texts.count,
                     "FineTunedClassifier.predict: \(texts.count) texts but \(textsB!.count) second texts")
        var rows: [[Int32]] = []
        rows.reserveCapacity(texts.count)
        for (i, t) in texts.enumerated() {
            do { rows.append(try format.encode(text: t, textB: textsB?[i]).ids) } catch {
                throw EvaluationError("text \(i + 1)", "\(error) (the checkpoint's tokenizer cannot encode it)")
            }
        }
        return argmaxRows(classifierLogits(model: model, head: head, rows: rows, batchSize: batchSize),
                          labels: labels.count)
    }

    /// Predictions for rows read with `readLabelledRows`; errors name `source` and the row's line.
    public func predict(rows: [LabelledRow], source: String) throws -> [Int] {
        var ids: [[Int32]] = []
        for r in rows {
            do { ids.append(try format.encode(text: r.text, textB: r.textB).ids) } catch {
                throw EvaluationError("\(source):\(r.line)", "\(error) (the checkpoint's tokenizer cannot encode it)")
            }
        }
        return argmaxRows(classifierLogits(model: model, head: head, rows: ids, batchSize: batchSize),
                          labels: labels.count)
    }

    /// Accuracy, macro-F1 and confusion matrix on labelled rows. A label the classifier was not trained
    /// on is an error naming the file, line and label.
    public func evaluate(rows: [LabelledRow], source: String) throws -> ClassificationMetrics {
        let index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        let targets = try rows.map { r -> Int in
            guard let i = index[r.label] else {
                throw EvaluationError("\(source):\(r.line)", "label \"\(r.label)\" is not one the classifier was " +
                        "trained on (\(labels.joined(separator: ", ")))")
            }
            return i
        }
        return ClassificationMetrics(predictions: try predict(rows: rows, source: source), targets: targets,
                                     labels: labels)
    }
}

/// Classifier logits (N·K, row-major, in the order of `rows`) for encoded rows, each ending in its
/// extract token, computed `batchSize` rows at a time without gradients or dropout. Rows are batched
/// in order of length (so little is padded) and right-padded to the longest in their batch; causal
/// attention keeps the padding out of every real position, so a row's logits do not depend on what it
/// is batched with.
public func classifierLogits(model: GPT, head: ClassifierHead, rows: [[Int32]], batchSize: Int) -> [Float] {
    classifierLogits(model: model, head: head, rows: rows, batchSize: batchSize, isCancelled: { false })!
}

/// The same, asking `isCancelled` before each batch: nil once it says true (a training run's
/// evaluation cut short by Ctrl-C).
public func classifierLogits(model: GPT, head: ClassifierHead, rows: [[Int32]], batchSize: Int,
                             isCancelled: () -> Bool) -> [Float]? {
    precondition(batchSize >= 1, "classifierLogits: batch size must be >= 1, got \(batchSize)")
    let k = head.labelCount
    var out = [Float](repeating: 0, count: rows.count * k)
    let byLength = rows.indices.sorted { (rows[$0].count, $0) < (rows[$1].count, $1) }
    var unusedRNG = RandomGenerator(seed: 0)
    return withoutGrad { () -> [Float]? in
        var start = 0
        while start < byLength.count {
            if isCancelled() { return nil }
            let chunk = byLength[start..<min(start + batchSize, byLength.count)]
            let b = chunk.count, t = chunk.map { rows[$0].count }.max()!
            var ids = [Int32](repeating: 0, count: b * t)
            var extract: [Int] = []
            for (i, r) in chunk.enumerated() {
                for (j, id) in rows[r].enumerated() { ids[i * t + j] = id }
                extract.append(i * t + rows[r].count - 1)
            }
            let h = model.hidden(ids, batch: b, time: t, training: false, rng: &unusedRNG)   // (B, T, C)
            let logits = head(selectRows(h, rows: extract))                                  // (B, K)
            for (i, r) in chunk.enumerated() {
                for j in 0..<k { out[r * k + j] = logits.data[i * k + j] }
            }
            start += b
        }
        return out
    }
}

/// The index of the largest of each row's `labels` logits (the first on ties).
public func argmaxRows(_ logits: [Float], labels k: Int) -> [Int] {
    stride(from: 0, to: logits.count, by: k).map { base in
        var best = 0
        for j in 1..<k where logits[base + j] > logits[base + best] { best = j }
        return best
    }
}
