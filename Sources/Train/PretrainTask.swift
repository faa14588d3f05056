// Causal-LM pretraining as a training task, nanoGPT's train.py objective: random windows of
// block_size+1 tokens from the train shards, next-token cross-entropy, and at each evaluation the mean
// loss over eval_iters random batches of each split.
import Foundation
import Autograd
import Checkpoint
import Collective
import Data
import Kernels
import NN

public final class PretrainTask: TrainingTask {
    public let config: TrainConfig
    public let model: GPT
    public let tokenizer: any Tokenizer
    var trainSampler: BatchSampler
    let valDataset: TokenShardDataset
    let initFrom: String?

    init(config: TrainConfig, model: GPT, tokenizer: any Tokenizer, trainSampler: BatchSampler,
         valDataset: TokenShardDataset, initFrom: String?) {
        self.config = config; self.model = model; self.tokenizer = tokenizer
        self.trainSampler = trainSampler; self.valDataset = valDataset; self.initFrom = initFrom
    }

    // MARK: Objective

    public var trainable: [NamedParameter] { model.parameters }
    public var gradientBuffers: [UnsafeMutableBufferPointer<Float>] { model.gradientBuffers }
    public var checkpointParameters: [NamedParameter] { model.parameters }
    public var warnings: [String] { [] }

    public func zeroGrad() { model.zeroGrad() }

    public func nextBatch(rng: inout RandomGenerator) -> TokenBatch { trainSampler.next(rng: &rng) }

    public func loss(_ batch: TokenBatch, training: Bool, rng: inout RandomGenerator) -> StepLoss {
        let (_, loss) = model.loss(batch.inputs, targets: batch.targets, batch: batch.batchSize,
                                   time: batch.blockSize, training: training, rng: &rng)
        return StepLoss(loss: loss, tokens: batch.batchSize * batch.blockSize)
    }

    // MARK: Evaluation and checkpoints

    public func startEvent(step: Int, resumedFrom: String?) -> TrainingEvent {
        .pretrainStarted(config: config, parameterCount: model.parameterCount, startStep: step,
                         resumedFrom: resumedFrom)
    }

    /// Mean loss over eval_iters batches of each split, from the evaluation stream of (seed, step). In a
    /// data-parallel run every rank draws every batch and scores its share; the sums are reduced.
    public func evaluate(step: Int, dropoutRNG: RandomGenerator, isCancelled: () -> Bool) -> EvalMetrics? {
        var rng = RandomGenerator(seed: SeedOffset.evaluation(seed: config.seed, step: step))
        let group = ProcessGroup.world
        func meanLoss(_ dataset: TokenShardDataset) -> Double? {
            guard var sampler = try? BatchSampler(dataset: dataset, batchSize: config.batchSize,
                                                  blockSize: config.blockSize, mode: .random) else { return .nan }
            var total = [0.0]
            let finished = withoutGrad { () -> Bool in
                var unusedDropout = dropoutRNG
                for i in 0..<config.evalIters {
                    // Every rank asks at every batch, so a cancellation stops all of them at the same one.
                    if isCancelled() { return false }
                    let batch = sampler.next(rng: &rng)
                    guard i % group.size == group.rank else { continue }
                    total[0] += Double(loss(batch, training: false, rng: &unusedDropout).loss.item)
                }
                return true
            }
            guard finished else { return nil }
            group.allReduceSum(&total)
            return total[0] / Double(config.evalIters)
        }
        guard let trainLoss = meanLoss(trainSampler.dataset), let valLoss = meanLoss(valDataset) else { return nil }
        return EvalMetrics(step: step, trainLoss: trainLoss, valLoss: valLoss, isBest: false, milliseconds: 0)
    }

    public func runState(step: Int, streams: TrainingStreams, best: Double?) -> RunState {
        var state = RunState(kind: "pretrain", step: step, config: config.jsonObject, model: model.config,
                             tokenizer: tokenizer.jsonObject(), batchRNG: streams.batch, dropoutRNG: streams.dropout,
                             sampler: trainSampler.state, bestValLoss: best, threads: Parallel.threadCount)
        if let initFrom { state.extra["init_from"] = initFrom }
        return state
    }
}

extension EvalMetrics: EvaluationReport {
    public var metricValue: Double { valLoss }
    public var higherIsBetter: Bool { false }
    public var event: TrainingEvent { .pretrainEval(self) }
}
