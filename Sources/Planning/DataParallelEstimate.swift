// A model of a data-parallel step on N machines like this one (`tinygpt plan --ranks N`): each rank
// computes its 1/N share of the micro-batches, then the gradients are summed with a ring allreduce,
// which sends 2(N−1)/N of the gradient bytes per rank and takes 2(N−1) latency-bound rounds. It is a
// model, not a measurement: it ignores the overlap of communication with the backward pass and any
// contention between ranks on one host.
import Foundation

public struct DataParallelEstimate: Sendable {
    public let ranks: Int
    public let gigabitsPerSecond: Double
    public let latencyMicroseconds: Double
    /// One rank's share of the step's compute.
    public let computeMs: Double
    /// The ring allreduce of the gradients.
    public let allreduceMs: Double
    /// One process running the whole step.
    public let singleProcessMs: Double

    public var stepMs: Double { computeMs + allreduceMs }
    /// Speed-up over one process, divided by the ranks (1 = perfect scaling).
    public var efficiency: Double { singleProcessMs / (Double(ranks) * stepMs) }

    /// `stepMs`: one process's step time; `gradientBytes`: fp32 gradients of the trainable parameters.
    public init(ranks: Int, stepMs: Double, gradientBytes: Int, gigabitsPerSecond: Double,
                latencyMicroseconds: Double = 30) {
        self.ranks = ranks
        self.gigabitsPerSecond = gigabitsPerSecond
        self.latencyMicroseconds = latencyMicroseconds
        singleProcessMs = stepMs
        computeMs = stepMs / Double(ranks)
        let n = Double(ranks)
        let bytesPerSecond = gigabitsPerSecond * 1e9 / 8
        let transfer = ranks > 1 ? 2 * (n - 1) / n * Double(gradientBytes) / bytesPerSecond : 0
        let latency = ranks > 1 ? 2 * (n - 1) * latencyMicroseconds * 1e-6 : 0
        allreduceMs = 1000 * (transfer + latency)
    }
}
