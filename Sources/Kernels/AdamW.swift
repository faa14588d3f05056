// The AdamW update (one fused pass per parameter: decay, both moments, bias-corrected step) and the
// sum of squares behind global-norm gradient clipping. param, m, v, grad are flat (N) buffers.
// Reference: torch.optim.AdamW, single-tensor path (torch/optim/adam.py, _single_tensor_adam with
// decoupled_weight_decay), whose order of operations and float32 roundings adamWUpdate reproduces;
// the naive references beside each kernel are the test oracles.
import Foundation

/// One AdamW step over `count` elements, in PyTorch's order of operations:
///
///     param *= 1 - lr·wd                       (decoupled weight decay; skipped when wd == 0)
///     m = m.lerp(g, 1 - β1)                    (= β1·m + (1-β1)·g)
///     v = v·β2 + (1-β2)·g·g
///     denom = sqrt(v) / sqrt(1 - β2^t) + eps
///     param += -(lr / (1 - β1^t)) · m / denom
///
/// The scalar factors are computed in Double (PyTorch computes them as Python floats) and rounded to
/// Float once, as PyTorch's CPU kernels do. PyTorch's lerp and addcmul kernels compile to fused
/// multiply-adds, so m and v are computed the same way (see `fusedMultiplyAdd`); the results do not
/// depend on the target CPU. Element-wise, so any partition into chunks gives the same bits.
/// `step` is the 1-based step count t after incrementing. `gradScale` multiplies each gradient as it
/// is read (gradient clipping's factor, folded in to save a pass over the gradients): the same Float
/// product that scaling the gradients in place first would store.
public func adamWUpdate(_ param: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                        _ v: UnsafeMutablePointer<Float>, _ grad: UnsafePointer<Float>, count: Int,
                        lr: Double, beta1: Double, beta2: Double, eps: Double, weightDecay: Double, step: Int,
                        gradScale: Float = 1) {
    adamWUpdate([AdamWBuffers(param: param, m: m, v: v, grad: grad, count: count, weightDecay: weightDecay)],
                lr: lr, beta1: beta1, beta2: beta2, eps: eps, step: step, gradScale: gradScale)
}

/// One parameter's buffers for the multi-parameter `adamWUpdate`.
public struct AdamWBuffers {
    public let param: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>
    public let v: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>
    public let count: Int
    public let weightDecay: Double
    public init(param: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
                grad: UnsafePointer<Float>, count: Int, weightDecay: Double) {
        self.param = param; self.m = m; self.v = v; self.grad = grad; self.count = count; self.weightDecay = weightDecay
    }
}

/// The AdamW step above over several parameters as one parallel pass: their elements are split into
/// one contiguous run per thread across parameter boundaries (one fork and join per step instead of
/// one per parameter, and no thread idles on small parameters). Element-wise, so the bits are those of
/// updating each parameter on its own.
public func adamWUpdate(_ buffers: [AdamWBuffers], lr: Double, beta1: Double, beta2: Double, eps: Double,
                        step: Int, gradScale: Float = 1) {
    precondition(step >= 1, "adamWUpdate: step must be >= 1, got \(step)")
    let w1 = Float(1 - beta1)
    let biasCorrection1 = 1 - pow(beta1, Double(step))
    let biasCorrection2 = 1 - pow(beta2, Double(step))
    // With wd == 0 torch skips the multiplication; multiplying by exactly 1 changes no value either.
    let scalars = buffers.map {
        AdamWScalars(decay: Float(1 - lr * $0.weightDecay), lerpWeight: w1, beta2: Float(beta2),
                     oneMinusBeta2: Float(1 - beta2), bc2Sqrt: Float(biasCorrection2.squareRoot()), eps: Float(eps),
                     negStepSize: Float(-(lr / biasCorrection1)), gradScale: gradScale)
    }
    var starts = [0]
    for b in buffers { starts.append(starts[starts.count - 1] + b.count) }
    let total = starts[buffers.count]
    // torch's lerp(self, end, w): self + w·(end - self) for |w| < 0.5, else end - (end - self)·(1 - w);
    // the branch is fixed per call, so each gets its own specialised loop.
    let small = abs(w1) < 0.5
    buffers.withUnsafeBufferPointer { bufs in
        scalars.withUnsafeBufferPointer { sc in
            starts.withUnsafeBufferPointer { st in
                Parallel.forRanges(total, costPerItem: 8, minWork: 1 << 17) { r in
                    // The parameters overlapping r, each over its part of r.
                    var i = 0
                    while i < bufs.count && st[i + 1] <= r.lowerBound { i += 1 }
                    while i < bufs.count && st[i] < r.upperBound {
                        let b = bufs[i]
                        let part = (max(r.lowerBound, st[i]) - st[i])..<(min(r.upperBound, st[i + 1]) - st[i])
                        if small {
                            adamWChunk(b.param, b.m, b.v, b.grad, part, sc[i], smallWeight: true)
                        } else {
                            adamWChunk(b.param, b.m, b.v, b.grad, part, sc[i], smallWeight: false)
                        }
                        i += 1
                    }
                }
            }
        }
    }
}

struct AdamWScalars {
    let decay, lerpWeight, beta2, oneMinusBeta2, bc2Sqrt, eps, negStepSize, gradScale: Float
}

/// The update over `r`: eight lanes at a time, then the remainder one by one. Both paths perform the
/// same IEEE operations per element, so the bits do not depend on where a chunk starts.
@inline(__always)
private func adamWChunk(_ param: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                        _ v: UnsafeMutablePointer<Float>, _ grad: UnsafePointer<Float>, _ r: Range<Int>,
                        _ s: AdamWScalars, smallWeight: Bool) {
    typealias F8 = SIMD8<Float>
    typealias D8 = SIMD8<Double>
    let coeff = smallWeight ? s.lerpWeight : s.lerpWeight - 1
    let coeffD = D8(repeating: Double(coeff))
    let rp = UnsafeMutableRawPointer(param), rm = UnsafeMutableRawPointer(m)
    let rv = UnsafeMutableRawPointer(v), rg = UnsafeRawPointer(grad)
    var i = r.lowerBound
    while i + 8 <= r.upperBound {
        let o = i * 4
        let g = rg.loadUnaligned(fromByteOffset: o, as: F8.self) * s.gradScale
        let p = rp.loadUnaligned(fromByteOffset: o, as: F8.self) * s.decay
        let mi = rm.loadUnaligned(fromByteOffset: o, as: F8.self)
        let vb = rv.loadUnaligned(fromByteOffset: o, as: F8.self) * s.beta2
        // fusedMultiplyAdd, lane-wise: a·b exact in Double, one Double add, one rounding to Float.
        let mNew = F8(coeffD * D8(g - mi) + D8(smallWeight ? mi : g))
        let vNew = F8(D8(s.oneMinusBeta2 * g) * D8(g) + D8(vb))
        rm.storeBytes(of: mNew, toByteOffset: o, as: F8.self)
        rv.storeBytes(of: vNew, toByteOffset: o, as: F8.self)
        let denom = vNew.squareRoot() / s.bc2Sqrt + s.eps
        rp.storeBytes(of: p + (s.negStepSize * mNew) / denom, toByteOffset: o, as: F8.self)
        i += 8
    }
    while i < r.upperBound {
        let g = grad[i] * s.gradScale
        let p = param[i] * s.decay
        let mi = m[i]
        let mNew = fusedMultiplyAdd(coeff, g - mi, smallWeight ? mi : g)
        let vNew = fusedMultiplyAdd(s.oneMinusBeta2 * g, g, v[i] * s.beta2)
        m[i] = mNew
        v[i] = vNew
        let denom = vNew.squareRoot() / s.bc2Sqrt + s.eps
        param[i] = p + (s.negStepSize * mNew) / denom
        i += 1
    }
}

/// a·b + c rounded once to Float, as an FMA instruction computes it, but without needing one: the
/// product of two Floats is exact in Double, so only the Double sum and the final conversion round,
/// which differs from a true single rounding only when the Double sum lands exactly halfway between
/// two Floats (probability ~2⁻²⁹). Unlike `Float.addingProduct`, which calls libm's fmaf per element
/// on CPUs built without FMA (~9× slower here), this vectorises on every x86-64.
@inline(__always)
public func fusedMultiplyAdd(_ a: Float, _ b: Float, _ c: Float) -> Float {
    Float(Double(a) * Double(b) + Double(c))
}

/// Naive reference for `adamWUpdate`: the textbook formulas evaluated in Double per element, then
/// stored as Float. Differs from the kernel only by Float rounding.
public func adamWUpdateReference(_ param: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                                 _ v: UnsafeMutablePointer<Float>, _ grad: UnsafePointer<Float>, count: Int,
                                 lr: Double, beta1: Double, beta2: Double, eps: Double, weightDecay: Double,
                                 step: Int) {
    let bc1 = 1 - pow(beta1, Double(step)), bc2 = 1 - pow(beta2, Double(step))
    for i in 0..<count {
        let g = Double(grad[i])
        let p = Double(param[i]) * (1 - lr * weightDecay)
        let mi = beta1 * Double(m[i]) + (1 - beta1) * g
        let vi = beta2 * Double(v[i]) + (1 - beta2) * g * g
        m[i] = Float(mi)
        v[i] = Float(vi)
        param[i] = Float(p - (lr / bc1) * mi / (vi.squareRoot() / bc2.squareRoot() + eps))
    }
}

/// Σ x² over `count` floats, in Double. The summation order depends only on `count`: the buffer is cut
/// into fixed blocks (at most `sumOfSquaresMaxBlocks`), each block is summed with eight interleaved
/// partial sums (possibly on different threads), and the block sums are added in block order. So the
/// result is bitwise the same at any thread count. Squares of Floats are exact in Double.
public func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double {
    if count <= sumOfSquaresBlock { return sumOfSquaresBlockSum(x, count: count) }
    let blockSize = max(sumOfSquaresBlock, (count + sumOfSquaresMaxBlocks - 1) / sumOfSquaresMaxBlocks)
    let blocks = (count + blockSize - 1) / blockSize
    // Scratch for the block sums (at most 8 KiB; on the stack when the runtime finds room).
    return withUnsafeTemporaryAllocation(of: Double.self, capacity: blocks) { partial in
        let sums = partial.baseAddress!
        Parallel.forRanges(blocks, costPerItem: blockSize) { r in
            for b in r {
                let start = b * blockSize
                sums[b] = sumOfSquaresBlockSum(x + start, count: min(blockSize, count - start))
            }
        }
        var total = 0.0
        for b in 0..<blocks { total += sums[b] }
        return total
    }
}

public let sumOfSquaresBlock = 1 << 16
public let sumOfSquaresMaxBlocks = 1024

@inline(__always)
private func sumOfSquaresBlockSum(_ x: UnsafePointer<Float>, count: Int) -> Double {
    var acc = SIMD8<Double>()
    var i = 0
    let raw = UnsafeRawPointer(x)
    while i + 8 <= count {
        let d = SIMD8<Double>(raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
        acc += d * d
        i += 8
    }
    var s = acc.sum()
    while i < count { let d = Double(x[i]); s += d * d; i += 1 }
    return s
}

/// Naive reference for `sumOfSquares`: one serial Double accumulator.
public func sumOfSquaresReference(_ x: UnsafePointer<Float>, count: Int) -> Double {
    var s = 0.0
    for i in 0..<count { s += Double(x[i]) * Double(x[i]) }
    return s
}

/// x *= c over `count` floats (gradient clipping's rescale).
public func scaleInPlace(_ x: UnsafeMutablePointer<Float>, count: Int, by c: Float) {
    Parallel.forRanges(count, minWork: 1 << 17) { r in
        for i in r { x[i] *= c }
    }
}
