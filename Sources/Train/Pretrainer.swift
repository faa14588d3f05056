// Sets up a pretraining run — dataset, model (fresh, or nanoGPT's init_from: a checkpoint's weights),
// the run directory, and when resuming the saved state — and trains it with the shared loop.
import Foundation
import Checkpoint
import Config
import Data
import Evaluate
import Kernels
import NN

public typealias PretrainOptions = RunOptions<TrainConfig>

public struct PretrainResult {
    public var step: Int
    public var finalTrainLoss: Double?
    public var finalValLoss: Double?
    public var bestValLoss: Double?
    public var interrupted: Bool
    public var seconds: Double
}

public final class Pretrainer {
    public let task: PretrainTask
    public let loop: TrainingLoop<PretrainTask>
    public var config: TrainConfig { task.config }
    public var model: GPT { task.model }
    public var tokenizer: any Tokenizer { task.tokenizer }

    /// Throws a one-line error for a bad dataset, an unwritable run directory or a mismatched checkpoint.
    public init(_ options: PretrainOptions, events: @escaping (TrainingEvent) -> Void = { _ in }) throws {
        var config = options.config
        TrainingThreads.apply(configured: config.threads)

        let dataDir = try DatasetDirectory(URL(fileURLWithPath: config.dataset))
        let tokenizer = try dataDir.loadTokenizer()
        let start = try Pretrainer.startingWeights(config, tokenizer: tokenizer, verify: options.verifyCheckpoints)
        if let start { config.model = start.shape(dropout: config.dropout) }
        let vocab = try config.vocabularySize(tokenizerSize: tokenizer.vocabSize)
        config.vocabSize = vocab
        let modelConfig = config.modelConfig(vocabSize: vocab)
        try modelConfig.validate()
        try config.checkSizes(model: modelConfig, source: "config")
        try MemoryCheck.verify(modelConfig, batch: config.batchSize, time: config.blockSize,
                               allowOversubscribe: config.allowOversubscribe, source: "config")

        let run = RunDirectory(options.runDirectory, keepLast: config.keepLast)
        let resumeURL = try run.resumeCheckpoint(options.resume)

        let train = try dataDir.trainDataset(vocabSize: vocab)
        let val = try dataDir.valDataset(vocabSize: vocab)
        var trainSampler = try BatchSampler(dataset: train, batchSize: config.batchSize, blockSize: config.blockSize,
                                            mode: .random, name: "\(config.dataset) train split")
        _ = try BatchSampler(dataset: val, batchSize: config.batchSize, blockSize: config.blockSize,
                             mode: .random, name: "\(config.dataset) val split")

        let model = GPT(config: modelConfig, seed: UInt64(config.seed))
        if let start {
            model.parameterArena.baseAddress!.update(from: start.model.parameterArena.baseAddress!,
                                                     count: model.parameterArena.count)
        }

        var resumePoint: ResumePoint? = nil
        if let url = resumeURL {
            let state = try RunState.decode(try CheckpointStore.readState(from: url),
                                            source: url.appendingPathComponent("state.json").path)
            guard Pretrainer.sameArchitecture(state.model, modelConfig) else {
                throw TrainingError(source: url.path, message: "checkpoint model " +
                        "\(Pretrainer.describe(state.model)) differs from the config's " +
                        "\(Pretrainer.describe(modelConfig))")
            }
            if let s = state.sampler { try trainSampler.restore(s) }
            resumePoint = ResumePoint(checkpoint: url, state: state, best: state.bestValLoss,
                                      verify: options.verifyCheckpoints)
        }
        task = PretrainTask(config: config, model: model, tokenizer: tokenizer, trainSampler: trainSampler,
                            valDataset: val, initFrom: start?.directory.path)
        loop = try TrainingLoop(task: task, config: config.optimization, run: run, seed: config.seed,
                                resume: resumePoint, events: events)
    }

    /// Trains until max_iters (or Ctrl-C), evaluating and checkpointing along the way.
    @discardableResult
    public func run() throws -> PretrainResult {
        let out = try loop.train()
        return PretrainResult(step: out.step, finalTrainLoss: out.lastEvaluation?.trainLoss,
                              finalValLoss: out.lastEvaluation?.valLoss, bestValLoss: out.best,
                              interrupted: out.interrupted, seconds: out.seconds)
    }

    /// init_from: nil for "scratch", else the checkpoint's model, whose tokenizer must be the dataset's.
    static func startingWeights(_ config: TrainConfig, tokenizer: any Tokenizer,
                                verify: Bool) throws -> LoadedModel? {
        guard config.initFrom != "scratch" else { return nil }
        let loaded: LoadedModel
        do { loaded = try LoadedModel(checkpoint: config.initFrom, verify: verify) } catch {
            throw TrainingError(source: "init_from", message: "\(error)")
        }
        let theirs = loaded.tokenizer.jsonObject() as NSDictionary, ours = tokenizer.jsonObject() as NSDictionary
        guard theirs.isEqual(ours) else {
            throw TrainingError(source: "init_from", message: "\(config.initFrom) was trained with another " +
                    "tokenizer than dataset \(config.dataset)'s (\(loaded.tokenizer.vocabSize) against " +
                    "\(tokenizer.vocabSize) tokens); prepare the data with the checkpoint's tokenizer")
        }
        return loaded
    }

    static func sameArchitecture(_ a: GPTConfig, _ b: GPTConfig) -> Bool {
        a.vocabSize == b.vocabSize && a.blockSize == b.blockSize && a.nLayer == b.nLayer && a.nHead == b.nHead
            && a.nEmbd == b.nEmbd && a.bias == b.bias
    }

    static func describe(_ c: GPTConfig) -> String {
        "(vocab \(c.vocabSize), block \(c.blockSize), \(c.nLayer) layers, \(c.nHead) heads, \(c.nEmbd) wide, bias " +
                "\(c.bias))"
    }
}

extension LoadedModel {
    /// The checkpoint's architecture with the run's dropout (nanoGPT lets init_from runs set only that).
    func shape(dropout: Float) -> GPTConfig {
        var shape = model.config
        shape.dropout = dropout
        return shape
    }
}
