// Causal-LM pretraining: nanoGPT's train.py loop over token shards — random windows of
// block_size+1 tokens, AdamW with warm-up + cosine decay, gradient accumulation and clipping,
// periodic train/val loss estimates, checkpoints, and exact resume.
import Foundation
import Autograd
import Checkpoint
import Data
import Kernels
import NN
import Optim

public struct PretrainOptions {
    public var config: TrainConfig
    public var runDirectory: URL
    /// A step directory, a run directory, or "auto" (this run's latest checkpoint, if any).
    public var resume: String?

    public init(config: TrainConfig, runDirectory: URL, resume: String? = nil) {
        self.config = config; self.runDirectory = runDirectory; self.resume = resume
    }
}

public struct PretrainResult {
    public var step: Int
    public var finalTrainLoss: Double?
    public var finalValLoss: Double?
    public var bestValLoss: Double?
    public var interrupted: Bool
    public var seconds: Double
}

public final class Pretrainer {
    public let config: TrainConfig
    public let model: GPT
    public let tokenizer: any Tokenizer
    let optimizer: AdamW
    let schedule: LearningRateSchedule
    let store: CheckpointStore
    let metrics: MetricsLog
    var trainSampler: BatchSampler
    let valDataset: TokenShardDataset
    var batchRNG: RandomGenerator
    var dropoutRNG: RandomGenerator
    var step = 0
    var bestValLoss: Double?
    let resumedFrom: String?
    let emit: (TrainingEvent) -> Void

    /// Sets up the run: dataset, model, optimiser, and — when resuming — their saved states.
    /// Throws a one-line error for a bad dataset, an unwritable run directory or a mismatched checkpoint.
    public init(_ options: PretrainOptions, events: @escaping (TrainingEvent) -> Void = { _ in }) throws {
        var config = options.config
        emit = events
        if config.threads > 0 { Parallel.setThreadCount(config.threads) }

        let dataDir = try DatasetDirectory(URL(fileURLWithPath: config.dataset))
        tokenizer = try dataDir.loadTokenizer()
        let vocab = try config.vocabularySize(tokenizerSize: tokenizer.vocabSize)
        config.vocabSize = vocab
        let modelConfig = config.modelConfig(vocabSize: vocab)
        try modelConfig.validate()

        store = CheckpointStore(runDirectory: options.runDirectory, keepLast: config.keepLast)
        var resumeURL: URL? = nil
        if let r = options.resume { resumeURL = try store.resolve(resume: r) }
        if resumeURL == nil, let existing = try store.checkpoints().last {
            throw TrainConfigError(source: options.runDirectory.path, message: "already holds checkpoints (latest \(existing.url.lastPathComponent)); pass --resume auto to continue it or --out to start a new run")
        }

        let train = try dataDir.trainDataset(vocabSize: vocab)
        valDataset = try dataDir.valDataset(vocabSize: vocab)
        trainSampler = try BatchSampler(dataset: train, batchSize: config.batchSize, blockSize: config.blockSize,
                                        mode: .random, name: "\(config.dataset) train split")
        _ = try BatchSampler(dataset: valDataset, batchSize: config.batchSize, blockSize: config.blockSize,
                             mode: .random, name: "\(config.dataset) val split")

        model = GPT(config: modelConfig, seed: UInt64(config.seed))
        optimizer = AdamW(parameters: model.parameters, lr: config.learningRate, beta1: config.beta1,
                          beta2: config.beta2, eps: config.eps, weightDecay: config.weightDecay)
        schedule = LearningRateSchedule(learningRate: config.learningRate, minLR: config.minLR,
                                        warmupIters: config.warmupIters, lrDecayIters: config.lrDecayIters,
                                        decayLR: config.decayLR)
        batchRNG = RandomGenerator(seed: UInt64(config.seed) &+ 1)
        dropoutRNG = RandomGenerator(seed: UInt64(config.seed) &+ 2)

        if let url = resumeURL {
            let state = try RunState.decode(try CheckpointStore.readState(from: url),
                                            source: url.appendingPathComponent("state.json").path)
            guard Pretrainer.sameArchitecture(state.model, modelConfig) else {
                throw TrainConfigError(source: url.path, message: "checkpoint model \(Pretrainer.describe(state.model)) differs from the config's \(Pretrainer.describe(modelConfig))")
            }
            try CheckpointStore.load(from: url, into: model.parameters, optimizer: optimizer)
            step = state.step
            batchRNG = state.batchRNG
            dropoutRNG = state.dropoutRNG
            if let s = state.sampler { try trainSampler.restore(s) }
            bestValLoss = state.bestValLoss
            resumedFrom = url.path
        } else {
            resumedFrom = nil
        }
        self.config = config

        do {
            try FileManager.default.createDirectory(at: options.runDirectory, withIntermediateDirectories: true)
        } catch {
            throw TrainConfigError(source: options.runDirectory.path, message: "cannot create the run directory (\((error as NSError).localizedDescription))")
        }
        let metricsURL = options.runDirectory.appendingPathComponent("metrics.jsonl")
        if resumedFrom != nil { try MetricsLog.truncate(url: metricsURL, afterStep: step) }
        metrics = try MetricsLog(url: metricsURL)
    }

    static func sameArchitecture(_ a: GPTConfig, _ b: GPTConfig) -> Bool {
        a.vocabSize == b.vocabSize && a.blockSize == b.blockSize && a.nLayer == b.nLayer && a.nHead == b.nHead
            && a.nEmbd == b.nEmbd && a.bias == b.bias
    }

    static func describe(_ c: GPTConfig) -> String {
        "(vocab \(c.vocabSize), block \(c.blockSize), \(c.nLayer) layers, \(c.nHead) heads, \(c.nEmbd) wide, bias \(c.bias))"
    }

    /// Trains until max_iters (or Ctrl-C), evaluating and checkpointing along the way.
    @discardableResult
    public func run() throws -> PretrainResult {
        let t0 = Date()
        emit(.started(config: config, parameterCount: model.parameterCount, startStep: step, resumedFrom: resumedFrom))
        var lastTrain: Double? = nil, lastVal: Double? = nil
        if step == 0 && config.maxIters > 0 {
            let e = evaluate()
            lastTrain = e.trainLoss; lastVal = e.valLoss
        }
        while step < config.maxIters {
            if Interrupt.requested {
                let url = try saveCheckpoint(isBest: false)
                emit(.checkpoint(path: url.path, step: step))
                emit(.interrupted(step: step))
                return PretrainResult(step: step, finalTrainLoss: lastTrain, finalValLoss: lastVal,
                                      bestValLoss: bestValLoss, interrupted: true, seconds: Date().timeIntervalSince(t0))
            }
            trainStep()
            if step % config.evalInterval == 0 || step == config.maxIters {
                let e = evaluate()
                lastTrain = e.trainLoss; lastVal = e.valLoss
                if config.alwaysSaveCheckpoint || e.isBest || step == config.maxIters {
                    let url = try saveCheckpoint(isBest: e.isBest)
                    emit(.checkpoint(path: url.path, step: step))
                }
            }
        }
        let seconds = Date().timeIntervalSince(t0)
        emit(.finished(step: step, seconds: seconds))
        return PretrainResult(step: step, finalTrainLoss: lastTrain, finalValLoss: lastVal, bestValLoss: bestValLoss,
                              interrupted: false, seconds: seconds)
    }

    /// One optimiser step over gradient_accumulation_steps micro-batches.
    func trainStep() {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let lr = schedule.lr(at: step)
        let micro = config.gradientAccumulationSteps
        model.zeroGrad()
        var lossSum = 0.0
        for _ in 0..<micro {
            let batch = trainSampler.next(rng: &batchRNG)
            Tape.current.reset()
            let (_, loss) = model.loss(batch.inputs, targets: batch.targets, batch: batch.batchSize,
                                       time: batch.blockSize, training: true, rng: &dropoutRNG)
            lossSum += Double(loss.item)
            // Mean over micro-batches: each contributes 1/micro of the gradient.
            let scaled = micro == 1 ? loss : loss * (1 / Float(micro))
            scaled.backward()
        }
        // Clipping is folded into the update (the gradients are scaled as AdamW reads them).
        let norm = globalGradientNorm(model.parameters)
        optimizer.lr = lr
        optimizer.step(gradientScale: clippingScale(norm: norm, maxNorm: config.gradClip))
        step += 1
        let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
        let m = StepMetrics(step: step, maxSteps: config.maxIters, loss: Float(lossSum / Double(micro)),
                            learningRate: lr, gradNorm: norm, milliseconds: ms,
                            tokensPerSecond: Double(config.tokensPerStep) / (ms / 1000))
        if step % config.logInterval == 0 || step == config.maxIters {
            metrics.append(m.jsonObject)
            emit(.step(m))
        }
    }

    /// Mean loss over eval_iters batches of each split, without gradients or dropout. Eval batches come
    /// from their own generator seeded by (seed, step), so evaluating never shifts the training batches.
    public func evaluate() -> EvalMetrics {
        let t0 = DispatchTime.now().uptimeNanoseconds
        var rng = RandomGenerator(seed: UInt64(config.seed) &* 0x9E37_79B9 &+ UInt64(step) &+ 17)
        func meanLoss(_ dataset: TokenShardDataset) -> Double {
            guard var sampler = try? BatchSampler(dataset: dataset, batchSize: config.batchSize,
                                                  blockSize: config.blockSize, mode: .random) else { return .nan }
            var total = 0.0
            withoutGrad {
                var unusedDropout = dropoutRNG
                for _ in 0..<config.evalIters {
                    let b = sampler.next(rng: &rng)
                    let (_, loss) = model.loss(b.inputs, targets: b.targets, batch: b.batchSize, time: b.blockSize,
                                               training: false, rng: &unusedDropout)
                    total += Double(loss.item)
                }
            }
            return total / Double(config.evalIters)
        }
        let trainLoss = meanLoss(trainSampler.dataset)
        let valLoss = meanLoss(valDataset)
        let isBest = bestValLoss.map { valLoss < $0 } ?? true
        if isBest { bestValLoss = valLoss }
        let e = EvalMetrics(step: step, trainLoss: trainLoss, valLoss: valLoss, isBest: isBest,
                            milliseconds: Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        metrics.append(e.jsonObject)
        emit(.eval(e))
        return e
    }

    func runState() -> RunState {
        RunState(kind: "pretrain", step: step, config: config.jsonObject, model: model.config,
                 tokenizer: tokenizer.jsonObject(), batchRNG: batchRNG, dropoutRNG: dropoutRNG,
                 sampler: trainSampler.state, bestValLoss: bestValLoss, threads: Parallel.threadCount)
    }

    func saveCheckpoint(isBest: Bool) throws -> URL {
        try store.save(step: step, model: model.parameters, optimizer: optimizer, state: try runState().encoded(),
                       isBest: isBest)
    }
}
