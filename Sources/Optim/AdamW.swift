// AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization") with torch.optim.AdamW's
// semantics: bias-corrected moments, eps added after the bias-corrected square root, and weight decay
// applied to the weights (not the gradient), scaled by the current lr. Weight decay applies only to
// parameters whose `decays` flag is set (2-D weights and embeddings, as nanoGPT groups them).
// The per-element update is the fused kernel `adamWUpdate` in Kernels/AdamW.swift.
import Autograd
import Foundation
import Kernels
import NN

public final class AdamW {
    /// The parameters updated by `step()`, in a fixed order (the model's state-dict order).
    public let parameters: [NamedParameter]
    /// Learning rate of the next step; the trainer sets it from the schedule before each step.
    public var lr: Double
    public var beta1: Double
    public var beta2: Double
    public var eps: Double
    /// Decoupled weight decay for parameters with `decays == true`; the others use 0.
    public var weightDecay: Double
    /// Number of steps taken (PyTorch's `state["step"]`); the next step uses t = stepCount + 1.
    /// Restored from checkpoints together with the moments.
    public var stepCount: Int = 0

    /// First and second moments (PyTorch's exp_avg and exp_avg_sq), one per parameter, each a view into
    /// one zero-initialised arena per moment.
    public let expAvg: [Tensor]
    public let expAvgSq: [Tensor]

    /// Defaults are torch.optim.AdamW's.
    public init(parameters: [NamedParameter], lr: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999,
                eps: Double = 1e-8, weightDecay: Double = 1e-2) {
        var seen = Set<String>()
        for p in parameters {
            precondition(seen.insert(p.name).inserted, "AdamW: parameter name \"\(p.name)\" appears twice")
        }
        self.parameters = parameters
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        // Each moment starts on a 64-byte boundary inside its arena (16 floats).
        var offsets: [Int] = []
        var total = 0
        for p in parameters {
            offsets.append(total)
            total += (p.tensor.count + 15) / 16 * 16
        }
        let avgStorage = TensorStorage(count: total), sqStorage = TensorStorage(count: total)
        expAvg = zip(parameters, offsets).map { Tensor(shape: $0.tensor.shape, storage: avgStorage, offset: $1) }
        expAvgSq = zip(parameters, offsets).map { Tensor(shape: $0.tensor.shape, storage: sqStorage, offset: $1) }
    }

    /// One optimisation step from the gradients accumulated in each parameter's `grad`, each multiplied
    /// by `gradientScale` as it is read (pass `clippingScale(norm:maxNorm:)` to clip without a pass
    /// that rescales the gradients). A parameter without a gradient (`grad == nil`) is skipped, as
    /// PyTorch skips parameters whose grad is None.
    public func step(gradientScale: Float = 1) {
        stepCount += 1
        var buffers: [AdamWBuffers] = []
        buffers.reserveCapacity(parameters.count)
        for (i, p) in parameters.enumerated() {
            guard let g = p.tensor.grad else { continue }
            precondition(g.count == p.tensor.count,
                         "AdamW.step: gradient of \(p.name) has shape \(g.shape), parameter has \(p.tensor.shape)")
            buffers.append(AdamWBuffers(param: p.tensor.data, m: expAvg[i].data, v: expAvgSq[i].data, grad: g.data,
                                        count: p.tensor.count, weightDecay: p.decays ? weightDecay : 0))
        }
        // One pass over every parameter (not one parallel loop per parameter).
        adamWUpdate(buffers, lr: lr, beta1: beta1, beta2: beta2, eps: eps, step: stepCount, gradScale: gradientScale)
    }

    /// Sets every parameter's gradient to zero (keeping the buffers).
    public func zeroGrad() {
        for p in parameters { p.tensor.zeroGrad() }
    }

    /// The moments as named tensors, "<parameter name>.exp_avg" then "<parameter name>.exp_avg_sq" for
    /// each parameter in order. These are the live buffers (not copies): writing into them restores state.
    public var stateTensors: [(name: String, tensor: Tensor)] {
        var out: [(name: String, tensor: Tensor)] = []
        out.reserveCapacity(2 * parameters.count)
        for (i, p) in parameters.enumerated() {
            out.append((p.name + ".exp_avg", expAvg[i]))
            out.append((p.name + ".exp_avg_sq", expAvgSq[i]))
        }
        return out
    }

    /// Restores the step count and the moments from named tensors (as produced by `stateTensors`).
    /// Every expected name must be present with the parameter's shape and no other names may appear;
    /// otherwise nothing is changed and the error names the first offending tensor.
    public func loadState(step: Int, tensors: [String: Tensor]) throws {
        guard step >= 0 else { throw OptimizerStateError("optimizer state: step must be >= 0, got \(step)") }
        let expected = stateTensors
        for (name, live) in expected {
            guard let t = tensors[name] else {
                throw OptimizerStateError("optimizer state: missing tensor \"\(name)\"")
            }
            guard t.shape == live.shape else {
                throw OptimizerStateError("optimizer state: tensor \"\(name)\" has shape \(t.shape), expected "
                                          + "\(live.shape)")
            }
        }
        let names = Set(expected.map(\.name))
        if let extra = tensors.keys.sorted().first(where: { !names.contains($0) }) {
            throw OptimizerStateError("optimizer state: unexpected tensor \"\(extra)\" (no parameter of that name)")
        }
        for (name, live) in expected {
            live.data.update(from: tensors[name]!.data, count: live.count)
        }
        stepCount = step
    }
}

/// Optimiser state that does not fit the optimiser's parameters.
public struct OptimizerStateError: Error, CustomStringConvertible, LocalizedError, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }
}
