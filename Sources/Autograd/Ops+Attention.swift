// Attention ops: scaledDotProductAttention over (B, NH, T, hs) tensors, and causalSelfAttention, the
// fused GPT path that reads q, k, v straight out of c_attn's (B, T, 3C) output and writes (B, T, C)
// with heads merged, so no split/merge copies are made. Both save the probabilities P (B, NH, T, T),
// rows padded to a multiple of 16, for backward (attentionForward → attentionBackward in Kernels/Attention.swift).
import Kernels

/// softmax(scale·q·kᵀ)·v per batch and head, with q, k, v of equal shape (B, NH, T, hs).
/// Causal: query i sees keys 0...i. Default scale 1/√hs.
public func scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, causal: Bool = true,
                                      scale: Float? = nil) -> Tensor {
    Tape.operation(.attention) { op in
        precondition(q.rank == 4 && k.shape == q.shape && v.shape == q.shape,
                     "scaledDotProductAttention: q, k, v must all be (B, NH, T, hs), got \(q.shape), \(k.shape), "
                     + "\(v.shape)")
        let g = AttentionGeometry.heads(B: q.shape[0], NH: q.shape[1], T: q.shape[2], hs: q.shape[3])
        let s = scale ?? 1 / Float(g.hs).squareRoot()
        let out = Tensor(uninitialized: q.shape)
        let probs = Tensor(uninitialized: [g.B, g.NH, g.T, g.probsStride])
        attentionForward(out.data, probs.data, q: q.data, k: k.data, v: v.data, geometry: g, scale: s,
                         causal: causal, keyStart: nil)
        op.record(out, inputs: [q, k, v]) { dout in
            let scratch = Tensor(uninitialized: [attentionBackwardScratchCount(g)])
            attentionBackward(dq: q.requiresGrad ? q.gradPointer() : nil, dk: k.requiresGrad ? k.gradPointer() : nil,
                              dv: v.requiresGrad ? v.gradPointer() : nil, scratch: scratch.data,
                              dout: dout.data, probs: probs.data, q: q.data, k: k.data, v: v.data,
                              geometry: g, scale: s, causal: causal, keyStart: nil)
        }
        return out
    }
}

/// Causal multi-head self-attention from qkv (B, T, 3C), laid out [q | k | v] along the last axis as
/// nanoGPT's c_attn output, to (B, T, C) with heads merged. With `segments` (B·T ids, one per token of
/// packed sequences) query i sees key j only if j ≤ i and both carry the same id; each id must form
/// one run within its batch row. Scale 1/√hs.
public func causalSelfAttention(qkv: Tensor, heads: Int, segments: [Int32]? = nil) -> Tensor {
    Tape.operation(.attention) { op in
        precondition(qkv.rank == 3 && qkv.lastDim % 3 == 0 && heads > 0 && (qkv.lastDim / 3) % heads == 0,
                     "causalSelfAttention: qkv must be (B, T, 3C) with C divisible by heads=\(heads), got \(qkv.shape)")
        let B = qkv.shape[0], T = qkv.shape[1], C = qkv.lastDim / 3
        let g = AttentionGeometry.fused(B: B, T: T, NH: heads, hs: C / heads)
        let scale = 1 / Float(g.hs).squareRoot()
        var keyStart: [Int32]? = nil
        if let segments {
            precondition(segments.count == B * T,
                         "causalSelfAttention: \(segments.count) segment ids for qkv \(qkv.shape) (expected B·T = "
                         + "\(B * T))")
            checkSegmentRuns(segments, B: B, T: T)
            var starts = [Int32](repeating: 0, count: B * T)
            segments.withUnsafeBufferPointer { seg in
                starts.withUnsafeMutableBufferPointer { ks in
                    if let s = seg.baseAddress, let k = ks.baseAddress { segmentKeyStarts(k, segments: s, B: B, T: T) }
                }
            }
            keyStart = starts
        }
        let out = Tensor(uninitialized: [B, T, C])
        let probs = Tensor(uninitialized: [g.B, g.NH, g.T, g.probsStride])
        let x = qkv.data
        withOptionalPointer(keyStart) { ks in
            attentionForward(out.data, probs.data, q: x, k: x + C, v: x + 2 * C, geometry: g, scale: scale,
                             causal: true, keyStart: ks)
        }
        op.record(out, inputs: [qkv]) { dout in
            let scratch = Tensor(uninitialized: [attentionBackwardScratchCount(g)])
            let (d, accumulate) = qkv.gradForWrite()
            let x = qkv.data
            withOptionalPointer(keyStart) { ks in
                attentionBackward(dq: d, dk: d + C, dv: d + 2 * C, scratch: scratch.data, dout: dout.data,
                                  probs: probs.data, q: x, k: x + C, v: x + 2 * C, geometry: g, scale: scale,
                                  causal: true, keyStart: ks, accumulate: accumulate)
            }
        }
        return out
    }
}

/// Packing gives each sequence one contiguous run of ids; an id seen again after a different one
/// would make its visible keys non-contiguous, which the kernel does not support.
private func checkSegmentRuns(_ segments: [Int32], B: Int, T: Int) {
    for b in 0..<B {
        var seen = Set<Int32>()
        for i in 0..<T {
            let id = segments[b * T + i]
            if i > 0 && id == segments[b * T + i - 1] { continue }
            precondition(seen.insert(id).inserted,
                         "causalSelfAttention: segment id \(id) reappears at batch \(b), position \(i) after a "
                         + "different id (each id must be one run)")
        }
    }
}

@inline(__always)
private func withOptionalPointer<R>(_ a: [Int32]?, _ body: (UnsafePointer<Int32>?) -> R) -> R {
    guard let a else { return body(nil) }
    return a.withUnsafeBufferPointer { body($0.baseAddress) }
}
