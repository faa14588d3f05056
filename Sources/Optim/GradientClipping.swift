// Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_ (norm_type 2): the norm over all
// gradients together, and when it exceeds `maxNorm` every gradient is scaled by maxNorm / (norm + 1e-6).
// The norm is accumulated in Double in a fixed order (parameter order, fixed blocks within each; see
// Kernels.sumOfSquares), so it is the same at every thread count.
import Autograd
import Kernels
import NN

/// The L2 norm of all gradients taken together. Parameters without a gradient contribute nothing.
/// Parameters are spread over the threads (most are too small to split on their own); each one's
/// sum is the same at any thread count, and the sums are added in parameter order.
public func globalGradientNorm(_ parameters: [NamedParameter]) -> Double {
    let grads = parameters.compactMap { $0.tensor.grad }
    var sums = [Double](repeating: 0, count: grads.count)
    let elements = grads.reduce(0) { $0 + $1.count }
    sums.withUnsafeMutableBufferPointer { out in
        Parallel.forRanges(grads.count, costPerItem: elements / max(grads.count, 1), minWork: 1 << 16) { r in
            for i in r { out[i] = sumOfSquares(grads[i].data, count: grads[i].count) }
        }
    }
    var total = 0.0
    for s in sums { total += s }
    return total.squareRoot()
}

/// The factor clipping to global norm `maxNorm` applies to every gradient: maxNorm / (norm + 1e-6)
/// when that is below 1, else 1. Also 1 when `maxNorm <= 0` (clipping off) or the norm is not finite
/// (the caller reports it; PyTorch would multiply the gradients by NaN).
public func clippingScale(norm: Double, maxNorm: Double) -> Float {
    guard maxNorm > 0, norm.isFinite else { return 1 }
    let coefficient = maxNorm / (norm + 1e-6)
    return coefficient < 1 ? Float(coefficient) : 1
}

/// Clips the gradients in place to global norm `maxNorm` and returns the norm before clipping.
/// Like PyTorch, the scale is maxNorm / (norm + 1e-6), applied only when it is below 1. `maxNorm <= 0`
/// disables clipping (nanoGPT's grad_clip = 0.0) but still returns the norm, for logging. A non-finite
/// norm is returned and the gradients are left as they are, so the caller can report it (PyTorch would
/// multiply them by NaN).
@discardableResult
public func clipGradientNorm(_ parameters: [NamedParameter], maxNorm: Double) -> Double {
    let norm = globalGradientNorm(parameters)
    let c = clippingScale(norm: norm, maxNorm: maxNorm)
    if c < 1 {
        for p in parameters {
            guard let g = p.tensor.grad else { continue }
            scaleInPlace(g.data, count: g.count, by: c)
        }
    }
    return norm
}
