// One optimiser step, as nanoGPT's train.py takes it: gradient_accumulation_steps micro-batches
// forward and backward (each contributing 1/n of the gradient), the global gradient norm, clipping
// folded into AdamW's update, and the update at this step's learning rate. The training loop and the
// benchmark both run this.
import Foundation
import Autograd
import Kernels
import NN
import Optim

public final class TrainingStep<Objective: TrainingObjective> {
    public let objective: Objective
    public let optimizer: AdamW
    public let schedule: LearningRateSchedule
    public let accumulation: Int
    public let gradClip: Double

    public init(objective: Objective, optimization o: OptimizationConfig) {
        self.objective = objective
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
    }

    /// Takes the optimiser step numbered `step` (0-based) on the next micro-batches.
    public func run(step: Int, streams: inout TrainingStreams) -> Outcome {
        let lr = schedule.lr(at: step)
        Profiler.measure(.zeroGrad) { objective.zeroGrad() }
        var lossSum = 0.0, tokens = 0
        var parts: [String: Double] = [:]
        for _ in 0..<accumulation {
            let batch = objective.nextBatch(rng: &streams.batch)
            Tape.current.reset()
            let out = objective.loss(batch, training: true, rng: &streams.dropout)
            lossSum += Double(out.loss.item)
            tokens += out.tokens
            for (k, v) in out.parts { parts[k, default: 0] += v / Double(accumulation) }
            let scaled = accumulation == 1 ? out.loss : out.loss * (1 / Float(accumulation))
            scaled.backward()
        }
        objective.afterBackward()
        var norm = 0.0
        Profiler.measure(.gradClip) { norm = globalGradientNorm(objective.trainable) }
        optimizer.lr = lr
        Profiler.measure(.optimizer) {
            optimizer.step(gradientScale: clippingScale(norm: norm, maxNorm: gradClip))
        }
        return Outcome(loss: Float(lossSum / Double(accumulation)), learningRate: lr, gradNorm: norm,
                       tokens: tokens, parts: parts)
    }
}
