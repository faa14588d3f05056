// nanoGPT's learning-rate schedule: linear warm-up, cosine decay to a floor, then the floor.
// Reference: get_lr in karpathy/nanoGPT train.py (commit 3adf61e):
//     if it < warmup_iters: return learning_rate * (it + 1) / (warmup_iters + 1)
//     if it > lr_decay_iters: return min_lr
//     decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
//     coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
//     return min_lr + coeff * (learning_rate - min_lr)
// and `lr = get_lr(iter_num) if decay_lr else learning_rate`. Computed in Double, as Python does.
import Foundation

public struct LearningRateSchedule: Equatable, Sendable {
    /// Peak learning rate (nanoGPT's learning_rate).
    public var learningRate: Double
    /// Floor reached at `lrDecayIters` (min_lr).
    public var minLR: Double
    /// Steps of linear warm-up (warmup_iters).
    public var warmupIters: Int
    /// Step at which the cosine reaches `minLR` (lr_decay_iters).
    public var lrDecayIters: Int
    /// When false the rate is `learningRate` at every step (decay_lr).
    public var decayLR: Bool

    public init(learningRate: Double, minLR: Double, warmupIters: Int, lrDecayIters: Int, decayLR: Bool = true) {
        self.learningRate = learningRate
        self.minLR = minLR
        self.warmupIters = warmupIters
        self.lrDecayIters = lrDecayIters
        self.decayLR = decayLR
    }

    /// A constant rate (decay_lr = false).
    public static func constant(_ lr: Double) -> LearningRateSchedule {
        LearningRateSchedule(learningRate: lr, minLR: lr, warmupIters: 0, lrDecayIters: 0, decayLR: false)
    }

    /// The learning rate for iteration `it` (0-based, nanoGPT's iter_num).
    public func lr(at it: Int) -> Double {
        guard decayLR else { return learningRate }
        if it < warmupIters {
            return learningRate * Double(it + 1) / Double(warmupIters + 1)
        }
        if it > lrDecayIters { return minLR }
        // warmupIters <= it <= lrDecayIters here. nanoGPT divides 0 by 0 when the two are equal; the
        // cosine's start (coefficient 1) is the continuous choice.
        let span = lrDecayIters - warmupIters
        let decayRatio = span > 0 ? Double(it - warmupIters) / Double(span) : 0
        let coeff = 0.5 * (1.0 + cos(Double.pi * decayRatio))
        return minLR + coeff * (learningRate - minLR)
    }
}
