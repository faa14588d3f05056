// One optimiser step, as nanoGPT's train.py takes it: gradient_accumulation_steps micro-batches
// forward and backward (each contributing 1/n of the gradient), the global gradient norm, clipping
// folded into AdamW's update, and the update at this step's learning rate. The training loop and the
// benchmark both run this.
// Data-parallel (N ranks under mpirun): every rank draws every micro-batch from the same stream, so
// the data is exactly one process's; rank r computes micro-batches r, r+N, …; the gradients are summed
// over the ranks once per step, and every rank takes the same AdamW step.
import Foundation
import Autograd
import Collective
import Kernels
import NN
import Optim

public final class TrainingStep<Objective: TrainingObjective> {
    public let objective: Objective
    public let optimizer: AdamW
    public let schedule: LearningRateSchedule
    public let accumulation: Int
    public let gradClip: Double
    public let group: ProcessGroup

    public init(objective: Objective, optimization o: OptimizationConfig, group: ProcessGroup = .world) {
        self.objective = objective
        self.group = group
        optimizer = AdamW(parameters: objective.trainable, lr: o.learningRate, beta1: o.beta1, beta2: o.beta2,
                          eps: o.eps, weightDecay: o.weightDecay)
        schedule = o.schedule
        accumulation = o.gradientAccumulationSteps
        gradClip = o.gradClip
    }

    /// What one step measured.
    public struct Outcome {
        public var loss: Float              // mean over the micro-batches
        public var learningRate: Double
        public var gradNorm: Double         // before clipping
        public var tokens: Int
        public var parts: [String: Double]
        /// The update was not applied (the bad-step guard refused it).
        public var skipped = false
    }

    /// Takes the optimiser step numbered `step` (0-based) on the next micro-batches, at the schedule's
    /// learning rate times `lrScale`. `accept` sees the step's mean loss and gradient norm before the
    /// update and may refuse it.
    public func run(step: Int, streams: inout TrainingStreams, lrScale: Double = 1,
                    accept: (_ loss: Double, _ gradNorm: Double) -> Bool = { _, _ in true }) -> Outcome {
        let lr = lrScale == 1 ? schedule.lr(at: step) : schedule.lr(at: step) * lrScale
        Profiler.measure(.zeroGrad) { objective.zeroGrad() }
        var lossSum = 0.0, tokens = 0
        var parts: [String: Double] = [:]
        func microSteps(batches: inout RandomGenerator, dropout: inout RandomGenerator) {
            for micro in 0..<accumulation {
                let batch = objective.nextBatch(rng: &batches)
                guard micro % group.size == group.rank else { continue }
                Tape.current.reset()
                let out = objective.loss(batch, training: true, rng: &dropout)
                lossSum += Double(out.loss.item)
                tokens += out.tokens
                for (k, v) in out.parts { parts[k, default: 0] += v / Double(accumulation) }
                let scaled = accumulation == 1 ? out.loss : out.loss * (1 / Float(accumulation))
                scaled.backward()
            }
        }
        if group.isDistributed {
            var rankDropout = rankStream(&streams.dropout)
            microSteps(batches: &streams.batch, dropout: &rankDropout)
        } else {
            microSteps(batches: &streams.batch, dropout: &streams.dropout)
        }
        if group.isDistributed {
            for buffer in objective.gradientBuffers { group.allReduceSum(buffer.baseAddress!, count: buffer.count) }
            let keys = parts.keys.sorted()
            var sums = [lossSum, Double(tokens)] + keys.map { parts[$0]! }
            group.allReduceSum(&sums)
            lossSum = sums[0]; tokens = Int(sums[1])
            for (i, k) in keys.enumerated() { parts[k] = sums[2 + i] }
        }
        objective.afterBackward()
        var norm = 0.0
        Profiler.measure(.gradClip) { norm = globalGradientNorm(objective.trainable) }
        let loss = lossSum / Double(accumulation)
        guard accept(loss, norm) else {
            return Outcome(loss: Float(loss), learningRate: lr, gradNorm: norm, tokens: tokens, parts: parts,
                           skipped: true)
        }
        optimizer.lr = lr
        Profiler.measure(.optimizer) {
            optimizer.step(gradientScale: clippingScale(norm: norm, maxNorm: gradClip))
        }
        return Outcome(loss: Float(loss), learningRate: lr, gradNorm: norm, tokens: tokens, parts: parts)
    }

    /// A data-parallel rank's dropout stream for this step: one draw from the shared stream (so the
    /// saved state is the same on every rank and for any world size), mixed with the rank.
    func rankStream(_ shared: inout RandomGenerator) -> RandomGenerator {
        let base = shared.nextUInt64()
        return RandomGenerator(seed: base ^ (UInt64(group.rank) &* 0x9E37_79B9_7F4A_7C15))
    }
}
