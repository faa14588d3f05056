// Mean next-token loss and perplexity of a model over a token stream x[0..<N] (a text file or a
// prepared split), in non-overlapping windows of block_size T, as llm.c's and nanoGPT's evaluations
// read their validation data:
//   window w: inputs x[wT ..< min(wT + T, N − 1)], targets the same positions shifted by one
// so every token after the first is predicted exactly once, from the tokens before it in its own
// window (context restarts at each window; the last window may be shorter). Then
//   mean loss = Σ −log p(x[i] | window context) / (N − 1),   perplexity = exp(mean loss).
import Foundation
import Autograd
import Data
import Kernels
import NN

public struct PerplexityResult: Sendable {
    /// Tokens read (after any limit).
    public var tokens: Int
    /// Tokens predicted: tokens − 1.
    public var predicted: Int
    public var windows: Int
    public var blockSize: Int
    /// Mean cross-entropy in nats per predicted token.
    public var meanLoss: Double
    public var seconds: Double

    public var perplexity: Double { exp(meanLoss) }
    /// Bits per predicted token (meaningful per character for a character tokenizer).
    public var bitsPerToken: Double { meanLoss / log(2) }

    public var jsonObject: [String: Any] {
        ["task": "lm", "tokens": tokens, "predicted_tokens": predicted, "windows": windows, "block_size": blockSize,
         "mean_loss": meanLoss, "perplexity": perplexity, "bits_per_token": bitsPerToken, "seconds": seconds]
    }
}

public enum LanguageModelEvaluation {
    /// Logit floats one forward pass may hold (B·T·V): 32M floats = 128 MiB.
    static let logitBudget = 32 << 20

    /// Evaluates `model` on `tokens` (see the file header for the window convention). `batchSize` = 0
    /// picks the largest batch of windows whose logits fit in 128 MiB. `progress(done, total)` is
    /// called after each batch with counts of windows. Throws if fewer than 2 tokens are given.
    public static func evaluate(model: GPT, tokens: [Int32], source: String = "input", batchSize: Int = 0,
                                progress: (Int, Int) -> Void = { _, _ in }) throws -> PerplexityResult {
        try evaluate(model: model, count: tokens.count, source: source, batchSize: batchSize, progress: progress) {
            start, n in Array(tokens[start..<(start + n)])
        }
    }

    /// The same over a prepared split, limited to its first `maxTokens` tokens when given.
    public static func evaluate(model: GPT, dataset: TokenShardDataset, source: String, maxTokens: Int? = nil,
                                batchSize: Int = 0,
                                progress: (Int, Int) -> Void = { _, _ in }) throws -> PerplexityResult {
        let n = min(dataset.count, maxTokens ?? Int.max)
        return try evaluate(model: model, count: n, source: source, batchSize: batchSize, progress: progress) {
            start, count in dataset.tokens(from: start, count: count)
        }
    }

    static func evaluate(model: GPT, count n: Int, source: String, batchSize: Int,
                         progress: (Int, Int) -> Void, fetch: (Int, Int) -> [Int32]) throws -> PerplexityResult {
        guard n >= 2 else {
            throw EvaluationError(source, "holds \(n) token\(n == 1 ? "" : "s"); at least 2 are needed to measure a " +
                    "loss")
        }
        precondition(batchSize >= 0, "LanguageModelEvaluation: batchSize must be >= 0, got \(batchSize)")
        let t0 = DispatchTime.now().uptimeNanoseconds
        let T = model.config.blockSize, V = model.config.vocabSize
        let predicted = n - 1
        let fullWindows = predicted / T, tail = predicted % T
        let windows = fullWindows + (tail > 0 ? 1 : 0)
        let B = batchSize > 0 ? batchSize : max(1, logitBudget / (T * V))

        var total = 0.0, done = 0
        var rng = RandomGenerator(seed: 0)  // unused: no dropout when not training
        // One forward pass over `rows` windows of `time` inputs starting at token `start`.
        func run(start: Int, rows: Int, time: Int) {
            var ids = [Int32](repeating: 0, count: rows * time)
            var targets = [Int32](repeating: 0, count: rows * time)
            for r in 0..<rows {
                let w = fetch(start + r * T, time + 1)  // (time + 1) tokens: inputs and shifted targets
                for t in 0..<time { ids[r * time + t] = w[t]; targets[r * time + t] = w[t + 1] }
            }
            let logits = withoutGrad {
                model.forward(ids, batch: rows, time: time, training: false, rng: &rng)  // (rows, time, V)
            }
            let m = rows * time
            let losses = UnsafeMutablePointer<Float>.allocate(capacity: m)
            let lse = UnsafeMutablePointer<Float>.allocate(capacity: m)
            defer { losses.deallocate(); lse.deallocate() }
            targets.withUnsafeBufferPointer { tp in
                crossEntropyForward(losses: losses, lse: lse, logits: logits.data, targets: tp.baseAddress!,
                                    rows: m, vocab: V, ignoreIndex: -1)
            }
            withExtendedLifetime(logits) {}
            for i in 0..<m { total += Double(losses[i]) }
            done += rows
            progress(done, windows)
        }
        var w = 0
        while w < fullWindows {
            let rows = min(B, fullWindows - w)
            run(start: w * T, rows: rows, time: T)
            w += rows
        }
        if tail > 0 { run(start: fullWindows * T, rows: 1, time: tail) }

        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        return PerplexityResult(tokens: n, predicted: predicted, windows: windows, blockSize: T,
                                meanLoss: total / Double(predicted), seconds: seconds)
    }

    /// The tokens of a UTF-8 text file, encoded as one document. Throws for a missing, empty or
    /// non-UTF-8 file, or for text the tokenizer cannot encode (naming the file and line).
    public static func tokens(ofTextFile path: String, tokenizer: any Tokenizer) throws -> [Int32] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw EvaluationError(path, "text file not found")
        }
        guard !isDir.boolValue else { throw EvaluationError(path, "is a directory (expected a text file; use --data " +
                "for a prepared dataset)") }
        let bytes: Foundation.Data
        do { bytes = try Foundation.Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw EvaluationError(path, "cannot read: \((error as NSError).localizedDescription)")
        }
        guard !bytes.isEmpty else { throw EvaluationError(path, "is empty (expected some text)") }
        guard let text = String(data: bytes, encoding: .utf8) else { throw EvaluationError(path, "is not valid UTF-8") }
        do {
            return try tokenizer.encodeChecked(text)
        } catch let DataError.unknownCharacter(character, offset) {
            let line = 1 + text.unicodeScalars.prefix(offset).reduce(0) { $0 + ($1 == "\n" ? 1 : 0) }
            let shown = DataError.unknownCharacter(character: character, offset: offset).description
            throw EvaluationError("\(path):\(line)", "the checkpoint's \(tokenizer.type) tokenizer cannot encode " +
                    "this text: \(shown)")
        }
    }

    /// A split ("train" or "val") of a prepared dataset directory, after checking that the dataset
    /// was tokenised with the checkpoint's tokenizer and that every id fits the model.
    public static func dataset(directory path: String, split: String, tokenizer: any Tokenizer,
                               vocabSize: Int) throws -> TokenShardDataset {
        guard split == "train" || split == "val" else {
            throw EvaluationError("--split", "expected train or val, got \"\(split)\"")
        }
        let dir = try DatasetDirectory(URL(fileURLWithPath: path))
        let theirs = try dir.loadTokenizer()
        if try theirs.serialized() != tokenizer.serialized() {
            throw EvaluationError(dir.tokenizerURL.path, "the dataset's \(theirs.type) tokenizer " +
                    "(\(theirs.vocabSize) tokens) differs from the checkpoint's \(tokenizer.type) tokenizer " +
                    "(\(tokenizer.vocabSize) tokens); prepare the data with the checkpoint's tokenizer")
        }
        return split == "train" ? try dir.trainDataset(vocabSize: vocabSize) : try dir.valDataset(vocabSize: vocabSize)
    }
}
