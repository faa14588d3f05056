import Foundation
import Data
import Train
import Config
import Evaluate
import Planning
import Checkpoint

/// A scratch directory removed when the test object goes away.
final class ScratchDirectory {
    let url: URL
    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("tinygpt-test-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
}

/// A small character corpus with learnable structure (repeated phrases with variations).
func syntheticCorpus(lines: Int = 400) -> String {
    let words = ["the", "king", "queen", "speaks", "to", "his", "her", "loyal", "court", "and", "fool", "laughs"]
    var s = ""
    var x: UInt64 = 42
    for i in 0..<lines {
        var line: [String] = []
        for _ in 0..<(4 + i % 5) {
            x = x &* 6364136223846793005 &+ 1442695040888963407
            line.append(words[Int(x >> 33) % words.count])
        }
        s += line.joined(separator: " ") + ".\n"
    }
    return s
}

/// Prepares a character dataset from `text` in `dir/data` and returns its path.
func prepareCharDataset(in dir: URL, text: String = syntheticCorpus()) throws -> String {
    let input = dir.appendingPathComponent("corpus.txt")
    try text.write(to: input, atomically: true, encoding: .utf8)
    let out = dir.appendingPathComponent("data")
    _ = try DatasetPreparer.prepare(PrepareOptions(inputs: [input], tokenizer: try TokenizerSpec(parsing: "char"),
                                                   output: out))
    return out.path
}

/// A tiny config that trains in well under a second per dozen steps.
func tinyConfig(dataset: String, maxIters: Int) -> TrainConfig {
    var c = TrainConfig()
    c.dataset = dataset
    c.nLayer = 2; c.nHead = 2; c.nEmbd = 16; c.blockSize = 16; c.bias = true
    c.dropout = 0.1
    c.batchSize = 4
    c.maxIters = maxIters
    c.learningRate = 3e-3; c.minLR = 3e-4; c.warmupIters = 3; c.lrDecayIters = 40
    c.evalInterval = 5; c.evalIters = 2; c.logInterval = 1
    c.alwaysSaveCheckpoint = true
    c.threads = 2
    c.seed = 7
    return c
}

/// Runs a pretraining and returns the logged step losses and the final parameters (flat).
func train(_ config: TrainConfig, run: URL, resume: String? = nil,
           onEvent: @escaping (TrainingEvent) -> Void = { _ in })
    throws -> (losses: [Int: Float], weights: [Float], result: PretrainResult) {
    var losses: [Int: Float] = [:]
    let trainer = try Pretrainer(PretrainOptions(config: config, runDirectory: run, resume: resume)) { event in
        if case let .step(m) = event { losses[m.step] = m.loss }
        onEvent(event)
    }
    let result = try trainer.run()
    let weights = withExtendedLifetime(trainer) { Array(trainer.model.parameterArena) }
    return (losses, weights, result)
}
