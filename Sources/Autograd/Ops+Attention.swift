// Attention ops: scaledDotProductAttention over (B, NH, T, hs) tensors, and causalSelfAttention, the
// fused GPT path that reads q, k, v straight out of c_attn's (B, T, 3C) output and writes (B, T, C)
// with heads merged, so no split/merge copies are made. Each call runs the kernel pair
// AttentionMethod.chosen picks: materialized saves the probabilities P (B, NH, T, T), rows padded to a
// multiple of 16 (attentionForward → attentionBackward in Kernels/Attention.swift); tiled saves one
// log-sum-exp per row and recomputes P (attentionTiledForward → attentionTiledBackward).
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
        let kernel = AttentionKernels(g, scale: s, causal: causal)
        kernel.forward(out.data, q: q.data, k: k.data, v: v.data, keyStart: nil)
        op.record(out, inputs: [q, k, v]) { dout in
            kernel.backward(dq: q.requiresGrad ? q.gradPointer() : nil, dk: k.requiresGrad ? k.gradPointer() : nil,
                            dv: v.requiresGrad ? v.gradPointer() : nil, dout: dout.data, out: out.data,
                            q: q.data, k: k.data, v: v.data, keyStart: nil, accumulate: true)
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
        let kernel = AttentionKernels(g, scale: scale, causal: true)
        let x = qkv.data
        withOptionalPointer(keyStart) { ks in
            kernel.forward(out.data, q: x, k: x + C, v: x + 2 * C, keyStart: ks)
        }
        op.record(out, inputs: [qkv]) { dout in
            let (d, accumulate) = qkv.gradForWrite()
            let x = qkv.data
            withOptionalPointer(keyStart) { ks in
                kernel.backward(dq: d, dk: d + C, dv: d + 2 * C, dout: dout.data, out: out.data,
                                q: x, k: x + C, v: x + 2 * C, keyStart: ks, accumulate: accumulate)
            }
        }
        return out
    }
}

/// One call's kernel pair (AttentionMethod.chosen) and what its forward saves for its backward:
/// the probabilities (B, NH, T, probsStride) or the rows' log-sum-exp (B, NH, T).
private struct AttentionKernels {
    let method: AttentionMethod
    let g: AttentionGeometry
    let scale: Float
    let causal: Bool
    let saved: Tensor

    init(_ g: AttentionGeometry, scale: Float, causal: Bool) {
        self.g = g; self.scale = scale; self.causal = causal
        method = AttentionMethod.chosen(g)
        saved = Tensor(uninitialized: method == .tiled ? [g.B, g.NH, g.T] : [g.B, g.NH, g.T, g.probsStride])
    }

    func forward(_ out: UnsafeMutablePointer<Float>, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                 v: UnsafePointer<Float>, keyStart: UnsafePointer<Int32>?) {
        switch method {
        case .materialized:
            attentionForward(out, saved.data, q: q, k: k, v: v, geometry: g, scale: scale, causal: causal,
                             keyStart: keyStart)
        case .tiled:
            let scratch = Tensor(uninitialized: [attentionTiledForwardScratchCount(g)])
            attentionTiledForward(out, saved.data, scratch: scratch.data, q: q, k: k, v: v, geometry: g,
                                  scale: scale, causal: causal, keyStart: keyStart)
        }
    }

    func backward(dq: UnsafeMutablePointer<Float>?, dk: UnsafeMutablePointer<Float>?,
                  dv: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>, out: UnsafePointer<Float>,
                  q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                  keyStart: UnsafePointer<Int32>?, accumulate: Bool) {
        switch method {
        case .materialized:
            let scratch = Tensor(uninitialized: [attentionBackwardScratchCount(g)])
            attentionBackward(dq: dq, dk: dk, dv: dv, scratch: scratch.data, dout: dout, probs: saved.data,
                              q: q, k: k, v: v, geometry: g, scale: scale, causal: causal, keyStart: keyStart,
                              accumulate: accumulate)
        case .tiled:
            let scratch = Tensor(uninitialized: [attentionTiledBackwardScratchCount(g)])
            attentionTiledBackward(dq: dq, dk: dk, dv: dv, scratch: scratch.data, dout: dout, out: out,
                                   lse: saved.data, q: q, k: k, v: v, geometry: g, scale: scale, causal: causal,
                                   keyStart: keyStart, accumulate: accumulate)
        }
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
