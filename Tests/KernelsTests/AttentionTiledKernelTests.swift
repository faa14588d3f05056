// attentionTiledForward / attentionTiledBackward against the materialized kernels (Attention.swift)
// and their Double references: both layouts, causal or not, packing segments, T = 1 and T off the
// 64-row and 64-key tiles, head sizes 16–128; the saved lse; store mode; bitwise determinism.
import XCTest
import Kernels
import TestSupport

/// One attention problem with random inputs, run through either kernel pair.
private struct TiledCase {
    let g: AttentionGeometry
    let causal: Bool
    let scale: Float
    let keyStart: [Int32]?
    let inputs: [Float]  // q, k, v: (B, NH, T, hs) × 3 back to back, or (B, T, 3C)
    let dout: [Float]    // like out
    let qkvStride: Int   // offset of k (and 2× of v) inside `inputs`

    init(B: Int, NH: Int, T: Int, hs: Int, fused: Bool, causal: Bool = true, segments: [Int32]? = nil,
         seed: UInt64) {
        g = fused ? .fused(B: B, T: T, NH: NH, hs: hs) : .heads(B: B, NH: NH, T: T, hs: hs)
        self.causal = causal
        scale = 1 / Float(hs).squareRoot()
        let n = B * NH * T * hs
        inputs = randomFloats(3 * n, seed: seed, std: 1.5)
        dout = randomFloats(n, seed: seed + 1000)
        qkvStride = fused ? NH * hs : n
        if let segments {
            var ks = [Int32](repeating: 0, count: B * T)
            segmentKeyStarts(&ks, segments: segments, B: B, T: T)
            keyStart = ks
        } else { keyStart = nil }
    }

    var label: String {
        "B=\(g.B) NH=\(g.NH) T=\(g.T) hs=\(g.hs) \(qkvStride == g.NH * g.hs ? "fused" : "heads") causal=\(causal)"
            + (keyStart == nil ? "" : " segments")
    }

    private func withPointers<R>(_ body: (UnsafePointer<Float>, UnsafePointer<Int32>?) -> R) -> R {
        inputs.withUnsafeBufferPointer { x in
            if let keyStart { return keyStart.withUnsafeBufferPointer { body(x.baseAddress!, $0.baseAddress) } }
            return body(x.baseAddress!, nil)
        }
    }

    /// out and lse from the tiled forward.
    func tiledForward() -> (out: [Float], lse: [Float]) {
        var out = [Float](repeating: .nan, count: dout.count)
        var lse = [Float](repeating: .nan, count: attentionTiledSavedCount(g))
        var scratch = [Float](repeating: .nan, count: attentionTiledForwardScratchCount(g))
        withPointers { x, ks in
            attentionTiledForward(&out, &lse, scratch: &scratch, q: x, k: x + qkvStride, v: x + 2 * qkvStride,
                                  geometry: g, scale: scale, causal: causal, keyStart: ks)
        }
        return (out, lse)
    }

    /// out and probabilities from the materialized forward (or its Double reference).
    func materializedForward(reference: Bool) -> (out: [Float], probs: [Float]) {
        var out = [Float](repeating: 0, count: dout.count)
        var probs = [Float](repeating: 0, count: g.probsCount)
        withPointers { x, ks in
            if reference {
                attentionForwardReference(&out, &probs, q: x, k: x + qkvStride, v: x + 2 * qkvStride, geometry: g,
                                          scale: scale, causal: causal, keyStart: ks)
            } else {
                attentionForward(&out, &probs, q: x, k: x + qkvStride, v: x + 2 * qkvStride, geometry: g,
                                 scale: scale, causal: causal, keyStart: ks)
            }
        }
        return (out, probs)
    }

    /// Gradients of (q, k, v), laid out like `inputs`, added to `initial` (or stored over it).
    func tiledBackward(initial: Float = 0.25, accumulate: Bool = true) -> [Float] {
        let (out, lse) = tiledForward()
        var grads = [Float](repeating: initial, count: inputs.count)
        var scratch = [Float](repeating: .nan, count: attentionTiledBackwardScratchCount(g))
        let s = qkvStride
        grads.withUnsafeMutableBufferPointer { d in
            withPointers { x, ks in
                let dp = d.baseAddress!
                attentionTiledBackward(dq: dp, dk: dp + s, dv: dp + 2 * s, scratch: &scratch, dout: dout,
                                       out: out, lse: lse, q: x, k: x + s, v: x + 2 * s, geometry: g, scale: scale,
                                       causal: causal, keyStart: ks, accumulate: accumulate)
            }
        }
        return grads
    }

    func materializedBackward(reference: Bool, initial: Float = 0.25) -> [Float] {
        let (_, probs) = materializedForward(reference: false)
        var grads = [Float](repeating: initial, count: inputs.count)
        var scratch = [Float](repeating: 0, count: attentionBackwardScratchCount(g))
        let s = qkvStride
        grads.withUnsafeMutableBufferPointer { d in
            withPointers { x, ks in
                let dp = d.baseAddress!
                if reference {
                    attentionBackwardReference(dq: dp, dk: dp + s, dv: dp + 2 * s, dout: dout, q: x, k: x + s,
                                               v: x + 2 * s, geometry: g, scale: scale, causal: causal, keyStart: ks)
                } else {
                    attentionBackward(dq: dp, dk: dp + s, dv: dp + 2 * s, scratch: &scratch, dout: dout,
                                      probs: probs, q: x, k: x + s, v: x + 2 * s, geometry: g, scale: scale,
                                      causal: causal, keyStart: ks)
                }
            }
        }
        return grads
    }

    /// log Σ exp over each row's visible keys, from the reference probabilities' scores, in Double.
    func referenceLSE() -> [Float] {
        var lse = [Float](repeating: 0, count: attentionTiledSavedCount(g))
        let li = g.input, T = g.T
        for b in 0..<g.B {
            for h in 0..<g.NH {
                let head = b * li.strideB + h * li.strideH
                for i in 0..<T {
                    let s0 = causal ? Int(keyStart?[b * T + i] ?? 0) : 0, e = causal ? i + 1 : T
                    var scores: [Double] = []
                    for j in s0..<e {
                        var dot = 0.0
                        for d in 0..<g.hs {
                            dot += Double(inputs[head + i * li.strideT + d])
                                * Double(inputs[qkvStride + head + j * li.strideT + d])
                        }
                        scores.append(Double(scale) * dot)
                    }
                    let m = scores.max()!
                    lse[(b * g.NH + h) * T + i] = Float(m + Foundation.log(scores.reduce(0) { $0 + exp($1 - m) }))
                }
            }
        }
        return lse
    }
}

final class AttentionTiledKernelTests: XCTestCase {
    /// T = 1, T on and off the 64-row tile, several tiles with a ragged last one; head sizes 16–128.
    private let shapes: [(B: Int, NH: Int, T: Int, hs: Int)] = [
        (1, 1, 1, 16), (2, 3, 5, 16), (1, 2, 63, 32), (2, 2, 64, 32), (1, 1, 65, 64), (1, 2, 130, 16),
        (2, 1, 200, 128), (1, 1, 257, 48),
    ]

    func testForwardMatchesMaterializedKernel() {
        var seed: UInt64 = 1
        for s in shapes {
            for fused in [false, true] {
                for causal in [true, false] {
                    seed += 1
                    let c = TiledCase(B: s.B, NH: s.NH, T: s.T, hs: s.hs, fused: fused, causal: causal, seed: seed)
                    let got = c.tiledForward()
                    assertClose(got.out, c.materializedForward(reference: false).out, rtol: 1e-4, atol: 1e-5,
                                "out vs materialized \(c.label)")
                    assertClose(got.out, c.materializedForward(reference: true).out, rtol: 1e-4, atol: 1e-5,
                                "out vs reference \(c.label)")
                    assertClose(got.lse, c.referenceLSE(), rtol: 1e-5, atol: 1e-5, "lse \(c.label)")
                }
            }
        }
    }

    func testBackwardMatchesMaterializedKernel() {
        var seed: UInt64 = 200
        for s in shapes {
            for fused in [false, true] {
                for causal in [true, false] {
                    seed += 1
                    let c = TiledCase(B: s.B, NH: s.NH, T: s.T, hs: s.hs, fused: fused, causal: causal, seed: seed)
                    let got = c.tiledBackward()
                    assertClose(got, c.materializedBackward(reference: false), rtol: 1e-4, atol: 1e-5,
                                "dqkv vs materialized \(c.label)")
                    assertClose(got, c.materializedBackward(reference: true), rtol: 1e-3, atol: 1e-5,
                                "dqkv vs reference \(c.label)")
                }
            }
        }
    }

    func testSegmentsMatchMaterializedKernel() {
        // Row 0: documents of 3, 1, 70, 60 and 66 tokens, so runs start inside tiles and whole key
        // tiles fall before a row tile's first visible key; row 1: one document.
        let T = 200
        var segments = [Int32](repeating: 0, count: 2 * T)
        for i in 0..<T { segments[i] = i < 3 ? 0 : i < 4 ? 1 : i < 74 ? 2 : i < 134 ? 3 : 4 }
        for i in 0..<T { segments[T + i] = 9 }
        for (fused, hs) in [(false, 16), (true, 32)] {
            let c = TiledCase(B: 2, NH: 2, T: T, hs: hs, fused: fused, segments: segments, seed: fused ? 31 : 32)
            let got = c.tiledForward()
            assertClose(got.out, c.materializedForward(reference: false).out, rtol: 1e-4, atol: 1e-5,
                        "out \(c.label)")
            assertClose(got.lse, c.referenceLSE(), rtol: 1e-5, atol: 1e-5, "lse \(c.label)")
            assertClose(c.tiledBackward(), c.materializedBackward(reference: false), rtol: 1e-4, atol: 1e-5,
                        "dqkv \(c.label)")
        }
    }

    func testStoreModeOverwritesTheGradientBuffer() {
        let c = TiledCase(B: 2, NH: 2, T: 70, hs: 16, fused: true, seed: 77)
        let stored = c.tiledBackward(initial: .nan, accumulate: false)
        let added = c.tiledBackward(initial: 0)
        assertBitwiseEqual(stored, added, "stored vs accumulated onto 0")
    }

    func testDeterministicAndIndependentOfThreadCount() {
        let c = TiledCase(B: 3, NH: 4, T: 150, hs: 16, fused: true, seed: 44)
        let runs = withThreadCounts([2, 2, 1, 3]) { _ in (c.tiledForward(), c.tiledBackward()) }
        for (n, r) in zip([2, 1, 3], runs.dropFirst()) {
            assertBitwiseEqual(r.0.out, runs[0].0.out, "out, \(n) threads vs 2")
            assertBitwiseEqual(r.0.lse, runs[0].0.lse, "lse, \(n) threads vs 2")
            assertBitwiseEqual(r.1, runs[0].1, "dqkv, \(n) threads vs 2")
        }
    }

    func testAutomaticChoice() {
        let short = AttentionGeometry.fused(B: 12, T: 64, NH: 4, hs: 32)
        let long = AttentionGeometry.fused(B: 1, T: AttentionMethod.tiledFromT, NH: 4, hs: 32)
        let wide = AttentionGeometry.fused(B: 4096, T: 128, NH: 12, hs: 64)  // 3 GiB of probabilities
        XCTAssertEqual(AttentionMethod.automatic(short), .materialized)
        XCTAssertEqual(AttentionMethod.automatic(long), .tiled)
        XCTAssertEqual(AttentionMethod.automatic(wide), .tiled)
        XCTAssertEqual(AttentionMethod.tiled.savedFloats(long), 4 * AttentionMethod.tiledFromT)
    }
}
