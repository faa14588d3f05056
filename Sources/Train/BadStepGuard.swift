// The bad-step guard of the training loop (llm.c skips updates whose loss z-score is too high; we also
// skip non-finite ones): it judges each step from its loss and gradient norm before the update, and
// counts bad steps in a row so the loop can stop or roll back (on_bad_step).
import Foundation

public struct BadStepGuard {
    public let limit: Int
    public let zScore: Double
    public private(set) var consecutive = 0
    /// Losses of the last accepted steps (for the spike test).
    private var window: [Double] = []
    static let windowSize = 100

    public init(_ config: OptimizationConfig) {
        limit = config.badStepLimit
        zScore = config.lossSpikeZScore
    }

    /// Why a step with this loss and gradient norm must not be applied, or nil.
    public func verdict(loss: Double, gradNorm: Double) -> String? {
        if !loss.isFinite { return "the loss is \(loss)" }
        if !gradNorm.isFinite { return "the gradient norm is \(gradNorm)" }
        guard zScore > 0 && window.count >= 10 else { return nil }
        let mean = window.reduce(0, +) / Double(window.count)
        let variance = window.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(window.count)
        let z = (loss - mean) / max(variance.squareRoot(), 1e-12)
        return z > zScore
            ? String(format: "the loss %.4f is %.1f standard deviations above the recent mean %.4f", loss, z, mean)
            : nil
    }

    /// Records a step's outcome; true when `limit` bad steps in a row have now been seen.
    public mutating func record(loss: Double, bad: Bool) -> Bool {
        guard bad else {
            consecutive = 0
            window.append(loss)
            if window.count > Self.windowSize { window.removeFirst() }
            return false
        }
        consecutive += 1
        return consecutive >= limit
    }

    public mutating func reset() { consecutive = 0 }
}
