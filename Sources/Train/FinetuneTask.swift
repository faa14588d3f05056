// Fine-tuning as a training task:
//   classify  GPT-1 (Radford et al. 2018, §3.2): L3 = CE(head(h_extract), label) + λ·LM loss on the input
//   generate  instruction tuning: LM loss on the completion and end tokens only, optional packing
// Rows are visited in a fresh permutation each epoch (BatchPlan, optionally length-bucketed); the
// batches are built by TaskBatch. FinetuneSetup makes a task; FinetuneEvaluation scores it.
import Foundation
import Autograd
import Checkpoint
import Data
import Kernels
import NN

public final class FinetuneTask: TrainingTask {
    public let config: FinetuneConfig
    public let model: GPT
    public let head: ClassifierHead?
    public let tokenizer: any Tokenizer
    public internal(set) var state: FinetuneState
    public let trainable: [NamedParameter]
    let trainRows: [EncodedRow]
    let devRows: [EncodedRow]
    /// generate: the first dev_limit dev rows as (prompt ids, prompt text, reference completion).
    let devPrompts: [(ids: [Int32], prompt: String, reference: String)]
    var plan: BatchPlan
    let endToken: Int32?
    public let warnings: [String]

    init(config: FinetuneConfig, model: GPT, head: ClassifierHead?, tokenizer: any Tokenizer, state: FinetuneState,
         trainable: [NamedParameter], trainRows: [EncodedRow], devRows: [EncodedRow],
         devPrompts: [(ids: [Int32], prompt: String, reference: String)], plan: BatchPlan, endToken: Int32?,
         warnings: [String]) {
        self.config = config; self.model = model; self.head = head; self.tokenizer = tokenizer; self.state = state
        self.trainable = trainable; self.trainRows = trainRows; self.devRows = devRows; self.devPrompts = devPrompts
        self.plan = plan; self.endToken = endToken; self.warnings = warnings
    }

    public var labels: [String] { state.labels }
    public var checkpointParameters: [NamedParameter] { model.parameters + (head?.parameters ?? []) }
    public var gradientBuffers: [UnsafeMutableBufferPointer<Float>] {
        model.gradientBuffers + (head.map { h in
            [UnsafeMutableBufferPointer(start: h.arena.gradients!.pointer, count: h.arena.gradients!.count)]
        } ?? [])
    }
    public var parameterCount: Int { model.parameterCount + (head?.arena.count ?? 0) }

    // MARK: Objective

    public func zeroGrad() {
        model.zeroGrad()
        head?.zeroGrad()
    }

    /// The next batch of rows from the epoch order (fine-tuning's order is its own; `rng` is unused).
    public func nextBatch(rng: inout RandomGenerator) -> TaskBatch {
        if config.task == .generate && config.pack {
            return TaskBatch.packed(trainRows, plan: &plan, contexts: config.batchSize,
                                    blockSize: model.config.blockSize)
        }
        let picked = plan.next().map { trainRows[$0] }
        return config.task == .classify ? TaskBatch.classify(picked, baseVocabSize: state.baseVocabSize)
                                        : TaskBatch.generate(picked)
    }

    /// The batch's loss; classify logs its task and LM parts.
    public func loss(_ batch: TaskBatch, training: Bool, rng: inout RandomGenerator) -> StepLoss {
        let h = model.hidden(batch.ids, batch: batch.batch, time: batch.time, training: training, rng: &rng,
                             segments: batch.segments)                                       // (B, T, C)
        guard let head else {
            return StepLoss(loss: lmLoss(h, targets: batch.targets), tokens: batch.tokens)
        }
        var hx = selectRows(h, rows: batch.extract)                                            // (B, C)
        hx = dropout(hx, p: model.config.dropout, training: training, rng: &rng)
        let taskLoss = crossEntropy(head(hx), targets: batch.labels)                           // (B, K) → []
        guard config.lmWeight > 0 else {
            return StepLoss(loss: taskLoss, tokens: batch.tokens,
                            parts: ["task_loss": Double(taskLoss.item), "lm_loss": 0])
        }
        let lm = lmLoss(h, targets: batch.targets)
        return StepLoss(loss: taskLoss + lm * Float(config.lmWeight), tokens: batch.tokens,
                        parts: ["task_loss": Double(taskLoss.item), "lm_loss": Double(lm.item)])
    }

    /// Mean next-token cross-entropy over the positions that have a target. Only those rows of h go
    /// through the (C → V) head: padding and, for generate, prompt positions cost nothing there.
    func lmLoss(_ h: Tensor, targets: [Int32]) -> Tensor {
        var rows: [Int] = [], kept: [Int32] = []
        for (i, t) in targets.enumerated() where t >= 0 { rows.append(i); kept.append(t) }
        if rows.isEmpty { return Tensor([0], shape: []) }
        return crossEntropy(model.lmHead(selectRows(h, rows: rows)), targets: kept)      // (N, V) → []
    }

    /// freeze_base: the base rows of wte get no gradient, so with no weight decay on wte their Adam
    /// moments and updates stay exactly zero.
    public func afterBackward() {
        if config.freezeBase, let g = model.wte.grad {
            g.data.update(repeating: 0, count: state.baseVocabSize * model.config.nEmbd)
        }
    }

    // MARK: Start and checkpoints

    public func startEvent(step: Int, resumedFrom: String?) -> TrainingEvent {
        .finetuneStarted(FinetuneSummary(
            task: config.task, config: config.jsonObject, parameterCount: parameterCount,
            trainableCount: trainable.reduce(0) { $0 + $1.tensor.count }, trainRows: trainRows.count,
            devRows: devRows.count, labels: labels, addedTokens: state.tokens, startStep: step,
            resumedFrom: resumedFrom, initFrom: state.initFrom))
    }

    public func runState(step: Int, streams: TrainingStreams, best: Double?) -> RunState {
        var ft = state
        let p = plan.position
        ft.epoch = p.epoch
        ft.cursor = p.cursor
        ft.poolBatch = p.poolBatch
        ft.bestMetric = best
        var s = RunState(kind: FinetuneState.kind(config.task), step: step, config: config.jsonObject,
                         model: model.config, tokenizer: tokenizer.jsonObject(), batchRNG: streams.batch,
                         dropoutRNG: streams.dropout, sampler: nil, bestValLoss: nil, threads: Parallel.threadCount)
        s.extra[FinetuneState.key] = ft.jsonObject
        return s
    }
}
