import XCTest
import Foundation
import Autograd
import Data
import Kernels
import NN
import Train
import Config
import Evaluate
import Planning
import Checkpoint

/// Characters the evaluation tests put in prompts, beyond the synthetic corpus's letters.
let evaluationCorpus = syntheticCorpus(lines: 300) + "review: sentiment: good bad\n"

/// A character-level checkpoint trained for a few steps (block size 64) in `dir`; returns its run path.
func makeEvaluationCheckpoint(in dir: URL) throws -> String {
    let data = try prepareCharDataset(in: dir, text: evaluationCorpus)
    var config = tinyConfig(dataset: data, maxIters: 12)
    config.blockSize = 64
    config.evalInterval = 12
    let run = dir.appendingPathComponent("run")
    _ = try train(config, run: run)
    return run.path
}

/// log softmax(logits row)[target] in Double (the hand computation the library is checked against).
func referenceLogProb(_ row: UnsafePointer<Float>, vocab: Int, target: Int32) -> Double {
    var m = -Double.infinity
    for j in 0..<vocab { m = max(m, Double(row[j])) }
    var s = 0.0
    for j in 0..<vocab { s += exp(Double(row[j]) - m) }
    return Double(row[Int(target)]) - m - log(s)
}

/// Summed log-probability of `continuation` after `prompt`, from one full forward pass over
/// prompt + continuation (the last continuation token is never an input).
func referenceScore(_ model: GPT, prompt: [Int32], continuation: [Int32]) -> Double {
    let seq = prompt + continuation.dropLast()
    var rng = RandomGenerator(seed: 1)
    let logits = withoutGrad { model.forward(seq, batch: 1, time: seq.count, training: false, rng: &rng) }
    let V = model.config.vocabSize
    var s = 0.0
    for (j, token) in continuation.enumerated() {
        s += referenceLogProb(logits.data + (prompt.count - 1 + j) * V, vocab: V, target: token)
    }
    return s
}

/// Perplexity over non-overlapping windows, and continuation scoring, against hand computations from
/// full-forward logits.
final class EvaluationTests: EvaluationCheckpointTestCase {
    func testPerplexityEqualsExpOfHandComputedMeanLossOverWindows() throws {
        let loaded = try LoadedModel(checkpoint: Self.checkpoint)
        let model = loaded.model, T = model.config.blockSize, V = model.config.vocabSize
        let tokens = loaded.tokenizer.encode(String(evaluationCorpus.prefix(3 * T + 8)))
        XCTAssertEqual(tokens.count, 3 * T + 8)

        // By hand: window w predicts tokens[wT+1 ... wT+L] from tokens[wT ..< wT+L], L = min(T, N-1-wT).
        var total = 0.0, predicted = 0, windows = 0
        var start = 0
        while start < tokens.count - 1 {
            let L = min(T, tokens.count - 1 - start)
            let ids = Array(tokens[start..<(start + L)])
            var rng = RandomGenerator(seed: 1)
            let logits = withoutGrad { model.forward(ids, batch: 1, time: L, training: false, rng: &rng) }
            for t in 0..<L { total -= referenceLogProb(logits.data + t * V, vocab: V, target: tokens[start + t + 1]) }
            predicted += L; windows += 1; start += T
        }
        XCTAssertEqual(predicted, tokens.count - 1)
        XCTAssertEqual(windows, 4)
        let mean = total / Double(predicted)

        for batch in [0, 1, 2] {
            let r = try LanguageModelEvaluation.evaluate(model: model, tokens: tokens, batchSize: batch)
            XCTAssertEqual(r.tokens, tokens.count)
            XCTAssertEqual(r.predicted, tokens.count - 1)
            XCTAssertEqual(r.windows, 4)
            XCTAssertEqual(r.meanLoss, mean, accuracy: 2e-5 * mean, "batch \(batch)")
            XCTAssertEqual(r.perplexity, exp(mean), accuracy: 5e-5 * exp(mean), "batch \(batch)")
        }
        // A trained model must beat the uniform distribution over its vocabulary.
        XCTAssertLessThan(mean, log(Double(V)))
    }

    func testShortInputIsOneWindowAndOneTokenIsAnError() throws {
        let loaded = try LoadedModel(checkpoint: Self.checkpoint)
        let tokens = loaded.tokenizer.encode("the king")
        let r = try LanguageModelEvaluation.evaluate(model: loaded.model, tokens: tokens)
        XCTAssertEqual(r.windows, 1)
        XCTAssertEqual(r.predicted, tokens.count - 1)
        XCTAssertThrowsError(try LanguageModelEvaluation.evaluate(model: loaded.model, tokens: [3],
                                                                  source: "one.txt")) {
            XCTAssertEqual("\($0)", "one.txt: holds 1 token; at least 2 are needed to measure a loss")
        }
    }

    func testDatasetSplitEvaluationReadsTheSplitsTokens() throws {
        let loaded = try LoadedModel(checkpoint: Self.checkpoint)
        let dataDir = Self.scratch!.url.appendingPathComponent("data").path
        let val = try LanguageModelEvaluation.dataset(directory: dataDir, split: "val", tokenizer: loaded.tokenizer,
                                                      vocabSize: loaded.model.config.vocabSize)
        let limited = try LanguageModelEvaluation.evaluate(model: loaded.model, dataset: val, source: "val",
                                                           maxTokens: 100)
        let direct = try LanguageModelEvaluation.evaluate(model: loaded.model, tokens: val.tokens(from: 0, count: 100))
        XCTAssertEqual(limited.tokens, 100)
        XCTAssertEqual(limited.meanLoss, direct.meanLoss)
        let whole = try LanguageModelEvaluation.evaluate(model: loaded.model, dataset: val, source: "val")
        XCTAssertEqual(whole.tokens, val.count)
    }

    func testContinuationScoresMatchFullForwardLogSoftmax() throws {
        let loaded = try LoadedModel(checkpoint: Self.checkpoint)
        let model = loaded.model, tok = loaded.tokenizer
        let prompts = ["the king speaks to", "her loyal court and the fool laughs.\nthe", "a"].map { tok.encode($0) }
        // Multi-token words of different lengths, two sharing their first token, and one single token.
        let continuations = [" good", " bad", " queen", " ", "s"].map { tok.encode($0) }
        let batched = model.continuationLogLikelihoods(prompts: prompts, continuations: continuations)
        XCTAssertEqual(batched.count, prompts.count)
        for (q, p) in prompts.enumerated() {
            XCTAssertEqual(batched[q].count, continuations.count)
            let alone = model.continuationLogLikelihoods(prompts: [p], continuations: continuations)[0]
            for (c, cont) in continuations.enumerated() {
                let expected = referenceScore(model, prompt: p, continuation: cont)
                XCTAssertEqual(batched[q][c], expected, accuracy: 1e-4 + 1e-5 * abs(expected), "prompt \(q), " +
                        "continuation \(c)")
                XCTAssertEqual(alone[c], batched[q][c], accuracy: 1e-5 + 1e-6 * abs(expected), "batching changed " +
                        "prompt \(q), continuation \(c)")
                XCTAssertLessThan(batched[q][c], 0)
            }
        }
    }

    func testContinuationScoringFillsTheWholeContext() throws {
        let loaded = try LoadedModel(checkpoint: Self.checkpoint)
        let model = loaded.model, tok = loaded.tokenizer
        let cont = tok.encode(" good")
        let prompt = Array(tok.encode(evaluationCorpus).prefix(model.config.blockSize - (cont.count - 1)))
        let s = model.continuationLogLikelihoods(prompts: [prompt], continuations: [cont, tok.encode(" bad")])[0]
        XCTAssertEqual(s[0], referenceScore(model, prompt: prompt, continuation: cont), accuracy: 1e-4)
    }

    func testTextFileTokensAndErrors() throws {
        let loaded = try LoadedModel(checkpoint: Self.checkpoint)
        let dir = Self.scratch!.url
        let good = dir.appendingPathComponent("good.txt")
        try "the king\nthe queen\n".write(to: good, atomically: true, encoding: .utf8)
        XCTAssertEqual(try LanguageModelEvaluation.tokens(ofTextFile: good.path, tokenizer: loaded.tokenizer),
                       loaded.tokenizer.encode("the king\nthe queen\n"))

        let bad = dir.appendingPathComponent("bad.txt")
        try "the king\nthe queen\nthe Zebra\n".write(to: bad, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try LanguageModelEvaluation.tokens(ofTextFile: bad.path, tokenizer: loaded.tokenizer)) {
            let m = "\($0)"
            XCTAssertTrue(m.hasPrefix("\(bad.path):3: the checkpoint's char tokenizer cannot encode this text: " +
                    "character Z"), m)
        }
        let empty = dir.appendingPathComponent("empty.txt")
        try Foundation.Data().write(to: empty)
        XCTAssertThrowsError(try LanguageModelEvaluation.tokens(ofTextFile: empty.path, tokenizer: loaded.tokenizer)) {
            XCTAssertEqual("\($0)", "\(empty.path): is empty (expected some text)")
        }
        let missing = dir.appendingPathComponent("missing.txt").path
        XCTAssertThrowsError(try LanguageModelEvaluation.tokens(ofTextFile: missing, tokenizer: loaded.tokenizer)) {
            XCTAssertEqual("\($0)", "\(missing): text file not found")
        }
        let invalid = dir.appendingPathComponent("latin1.txt")
        try Foundation.Data([0x74, 0x68, 0xE9, 0x0A]).write(to: invalid)
        XCTAssertThrowsError(try LanguageModelEvaluation.tokens(ofTextFile: invalid.path,
                                                                tokenizer: loaded.tokenizer)) {
            XCTAssertEqual("\($0)", "\(invalid.path): is not valid UTF-8")
        }
    }

    func testDatasetWithAnotherTokenizerAndBadSplitAreRefused() throws {
        let loaded = try LoadedModel(checkpoint: Self.checkpoint)
        let other = Self.scratch!.url.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        let otherData = try prepareCharDataset(in: other, text: String(repeating: "abc xyz 123\n", count: 200))
        XCTAssertThrowsError(try LanguageModelEvaluation.dataset(directory: otherData, split: "val",
                                                                 tokenizer: loaded.tokenizer,
                                                                 vocabSize: loaded.model.config.vocabSize)) {
            let m = "\($0)"
            XCTAssertTrue(m.hasPrefix("\(otherData)/tokenizer.json: the dataset's char tokenizer"), m)
            XCTAssertTrue(m.contains("differs from the checkpoint's char tokenizer"), m)
        }
        let dataDir = Self.scratch!.url.appendingPathComponent("data").path
        XCTAssertThrowsError(try LanguageModelEvaluation.dataset(directory: dataDir, split: "test",
                                                                 tokenizer: loaded.tokenizer,
                                                                 vocabSize: loaded.model.config.vocabSize)) {
            XCTAssertEqual("\($0)", "--split: expected train or val, got \"test\"")
        }
    }

    func testMissingCheckpointIsOneLineError() {
        let path = Self.scratch!.url.appendingPathComponent("nope").path
        XCTAssertThrowsError(try LoadedModel(checkpoint: path)) {
            XCTAssertEqual("\($0)", "\(path): no such checkpoint or run directory")
        }
    }
}
