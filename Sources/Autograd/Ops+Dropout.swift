// Inverted dropout: zero each element with probability p and scale the rest by 1/(1 − p).
//   dropout   dropoutForward → dropoutBackward   (saves a bitmask, one bit per element)
import Kernels

/// Inverted dropout. Returns `x` itself when not training or p == 0 (then `rng` is not advanced);
/// otherwise draws one 64-bit seed from `rng` and derives the mask from it (see Kernels/Dropout.swift).
public func dropout(_ x: Tensor, p: Float, training: Bool, rng: inout RandomGenerator) -> Tensor {
    Tape.operation(.dropout) { op in
        precondition(p >= 0 && p <= 1, "dropout: p must be in [0, 1], got \(p)")
        if !training || p == 0 { return x }
        let seed = rng.nextUInt64()
        let out = Tensor(uninitialized: x.shape)
        var mask = [UInt64](repeating: 0, count: dropoutMaskWords(count: x.count))
        mask.withUnsafeMutableBufferPointer { m in
            dropoutForward(out.data, mask: m.baseAddress!, x.data, count: x.count, p: p, seed: seed)
        }
        op.record(out, inputs: [x]) { g in
            mask.withUnsafeBufferPointer { m in
                let (dx, accumulate) = x.gradForWrite()
                dropoutBackward(dx, g.data, mask: m.baseAddress!, count: x.count, p: p, accumulate: accumulate)
            }
        }
        return out
    }
}
