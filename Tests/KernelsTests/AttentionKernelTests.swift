// attentionForward / attentionBackward against the element-by-element Double references, in both
// layouts (separate (B, NH, T, hs) tensors and the fused (B, T, 3C) qkv), causal or not, with packing
// segments, across the 64-row block boundary, and for bitwise determinism.
import XCTest
import Kernels
import TestSupport

/// Random float buffers that free themselves.
private final class Buffer {
    let p: UnsafeMutablePointer<Float>
    let count: Int
    init(_ count: Int, rng: inout RandomGenerator, std: Float = 1) {
        self.count = count
        p = allocateAligned(count)
        rng.fillNormal(p, count: count, std: std)
    }
    init(zeros count: Int) { self.count = count; p = allocateAligned(count) }
    deinit { deallocateAligned(p) }
    var array: [Float] { Array(UnsafeBufferPointer(start: p, count: count)) }
}

/// Everything one attention call reads and writes, in one of the two layouts.
private struct Case {
    let g: AttentionGeometry
    let causal: Bool
    let scale: Float
    let keyStart: [Int32]?
    let q, k, v: UnsafeMutablePointer<Float>  // into `inputs`
    let inputs: Buffer   // (B, NH, T, hs) × 3 or (B, T, 3C)
    let dout: Buffer     // like out
    let outCount: Int
    let qkvStride: Int   // offset between q, k and v inside `inputs` (and inside gradient buffers)

    init(B: Int, NH: Int, T: Int, hs: Int, fused: Bool, causal: Bool, segments: [Int32]? = nil,
         scale: Float? = nil, seed: UInt64) {
        var rng = RandomGenerator(seed: seed)
        g = fused ? .fused(B: B, T: T, NH: NH, hs: hs) : .heads(B: B, NH: NH, T: T, hs: hs)
        self.causal = causal
        self.scale = scale ?? 1 / Float(hs).squareRoot()
        let n = B * NH * T * hs
        inputs = Buffer(3 * n, rng: &rng, std: 1.5)
        qkvStride = fused ? NH * hs : n
        q = inputs.p; k = inputs.p + qkvStride; v = inputs.p + 2 * qkvStride
        outCount = n
        dout = Buffer(n, rng: &rng)
        if let segments {
            var ks = [Int32](repeating: 0, count: B * T)
            segmentKeyStarts(&ks, segments: segments, B: B, T: T)
            keyStart = ks
        } else { keyStart = nil }
    }

    func forward(reference: Bool) -> (out: [Float], probs: [Float]) {
        let out = Buffer(zeros: outCount), probs = Buffer(zeros: g.probsCount)
        withKeyStart { ks in
            if reference {
                attentionForwardReference(out.p, probs.p, q: q, k: k, v: v, geometry: g, scale: scale, causal: causal,
                                          keyStart: ks)
            } else {
                attentionForward(out.p, probs.p, q: q, k: k, v: v, geometry: g, scale: scale, causal: causal,
                                 keyStart: ks)
            }
        }
        return (out.array, probs.array)
    }

    /// Gradients of (q, k, v) accumulated onto a non-zero starting value (checks the +=).
    /// With `accumulate: false` the kernel stores: the starting value must not leak into the result.
    func backward(reference: Bool, initial: Float = 0.25, want: (q: Bool, k: Bool, v: Bool) = (true, true, true),
                  accumulate: Bool = true) -> [Float] {
        let grads = Buffer(zeros: inputs.count)
        grads.p.update(repeating: initial, count: grads.count)
        withKeyStart { ks in
            if reference {
                attentionBackwardReference(dq: grads.p, dk: grads.p + qkvStride, dv: grads.p + 2 * qkvStride,
                                           dout: dout.p,
                                           q: q, k: k, v: v, geometry: g, scale: scale, causal: causal, keyStart: ks)
            } else {
                let probs = Buffer(zeros: g.probsCount), out = Buffer(zeros: outCount)
                attentionForward(out.p, probs.p, q: q, k: k, v: v, geometry: g, scale: scale, causal: causal,
                                 keyStart: ks)
                let scratch = Buffer(zeros: attentionBackwardScratchCount(g))
                attentionBackward(dq: want.q ? grads.p : nil, dk: want.k ? grads.p + qkvStride : nil,
                                  dv: want.v ? grads.p + 2 * qkvStride : nil, scratch: scratch.p, dout: dout.p,
                                  probs: probs.p, q: q, k: k, v: v, geometry: g, scale: scale, causal: causal,
                                  keyStart: ks, accumulate: accumulate)
            }
        }
        return grads.array
    }

    private func withKeyStart(_ body: (UnsafePointer<Int32>?) -> Void) {
        if let keyStart { keyStart.withUnsafeBufferPointer { body($0.baseAddress) } } else { body(nil) }
    }

    var label: String {
        "B=\(g.B) NH=\(g.NH) T=\(g.T) hs=\(g.hs) \(g.input.strideH == g.hs ? "fused" : "heads") causal=\(causal)"
            + (keyStart == nil ? "" : " segments")
    }
}

final class AttentionKernelTests: XCTestCase {
    private func assertClose(_ a: [Float], _ e: [Float], rtol: Double = 1e-4, atol: Double = 2e-6, _ name: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        let r = compareClose(a, e, rtol: rtol, atol: atol, name: name)
        XCTAssert(r.ok, r.message, file: file, line: line)
    }

    /// Sizes: T = 1, odd T and hs, T just over the 64-row block, and a long non-multiple of it.
    private let shapes: [(B: Int, NH: Int, T: Int, hs: Int)] = [
        (1, 1, 1, 1), (2, 3, 5, 7), (1, 2, 17, 3), (2, 2, 64, 16), (1, 1, 65, 33), (1, 2, 130, 8),
    ]

    func testForwardMatchesReference() {
        var seed: UInt64 = 10
        for s in shapes {
            for fused in [false, true] {
                for causal in [true, false] {
                    seed += 1
                    let c = Case(B: s.B, NH: s.NH, T: s.T, hs: s.hs, fused: fused, causal: causal, seed: seed)
                    let got = c.forward(reference: false), want = c.forward(reference: true)
                    assertClose(got.out, want.out, "out \(c.label)")
                    assertClose(got.probs, want.probs, "probs \(c.label)")
                }
            }
        }
    }

    func testBackwardMatchesReference() {
        var seed: UInt64 = 100
        for s in shapes {
            for fused in [false, true] {
                for causal in [true, false] {
                    seed += 1
                    let c = Case(B: s.B, NH: s.NH, T: s.T, hs: s.hs, fused: fused, causal: causal, seed: seed)
                    assertClose(c.backward(reference: false), c.backward(reference: true), rtol: 1e-3, atol: 1e-5,
                                "dqkv \(c.label)")
                }
            }
        }
    }

    func testStoreModeOverwritesTheGradientBuffer() {
        var seed: UInt64 = 300
        for s in shapes {
            for fused in [false, true] {
                seed += 1
                let c = Case(B: s.B, NH: s.NH, T: s.T, hs: s.hs, fused: fused, causal: true, seed: seed)
                assertClose(c.backward(reference: false, initial: .nan, accumulate: false),
                            c.backward(reference: true, initial: 0), rtol: 1e-3, atol: 1e-5, "stored dqkv \(c.label)")
            }
        }
    }

    func testCustomScale() {
        let c = Case(B: 2, NH: 2, T: 9, hs: 5, fused: false, causal: true, scale: 0.3, seed: 7)
        let got = c.forward(reference: false), want = c.forward(reference: true)
        assertClose(got.out, want.out, "out scale 0.3")
        assertClose(c.backward(reference: false), c.backward(reference: true), rtol: 1e-3, atol: 1e-5, "dqkv scale 0.3")
    }

    func testSegmentKeyStarts() {
        let segments: [Int32] = [0, 0, 1, 1, 1, 7, 3, 3,  5, 5, 5, 5, 5, 5, 5, 5]
        var ks = [Int32](repeating: -1, count: 16)
        segmentKeyStarts(&ks, segments: segments, B: 2, T: 8)
        XCTAssertEqual(ks, [0, 0, 2, 2, 2, 5, 6, 6,  0, 0, 0, 0, 0, 0, 0, 0])
    }

    func testSegmentsMatchReference() {
        // Documents of lengths 3, 1, 70, 6 in row 0 (crossing the block boundary), one document in row 1.
        let T = 80
        var segments = [Int32](repeating: 0, count: 2 * T)
        for i in 0..<T { segments[i] = i < 3 ? 0 : i < 4 ? 1 : i < 74 ? 2 : 3 }
        for i in 0..<T { segments[T + i] = 9 }
        for fused in [false, true] {
            let c = Case(B: 2, NH: 3, T: T, hs: 6, fused: fused, causal: true, segments: segments,
                         seed: fused ? 21 : 22)
            let got = c.forward(reference: false), want = c.forward(reference: true)
            assertClose(got.out, want.out, "out \(c.label)")
            assertClose(got.probs, want.probs, "probs \(c.label)")
            assertClose(c.backward(reference: false), c.backward(reference: true), rtol: 1e-3, atol: 1e-5,
                        "dqkv \(c.label)")
        }
    }

    func testSegmentsBlockOtherDocuments() {
        // Probabilities of keys in another document are exactly 0, those in the query's run sum to 1.
        let segments: [Int32] = [4, 4, 4, 2, 2, 8, 8, 8, 8]
        let c = Case(B: 1, NH: 2, T: 9, hs: 4, fused: true, causal: true, segments: segments, seed: 5)
        let P = c.forward(reference: false).probs
        for h in 0..<2 {
            for i in 0..<9 {
                var inside = 0.0
                for j in 0..<9 {
                    let p = P[(h * 9 + i) * c.g.probsStride + j]
                    if j <= i && segments[j] == segments[i] {
                        inside += Double(p)
                    } else {
                        XCTAssertEqual(p, 0, "P[\(h), \(i), \(j)]")
                    }
                }
                XCTAssertEqual(inside, 1, accuracy: 1e-6, "row \(i) of head \(h)")
                for j in 9..<c.g.probsStride { XCTAssertEqual(P[(h * 9 + i) * c.g.probsStride + j], 0, "padding") }
            }
        }
    }

    func testSkippedGradientsLeaveOthersUnchanged() {
        // Asking only for dv (or only dq/dk) gives the same values as asking for all three.
        let c = Case(B: 2, NH: 2, T: 70, hs: 8, fused: true, causal: true, seed: 33)
        let all = c.backward(reference: false)
        let onlyV = c.backward(reference: false, want: (false, false, true))
        let onlyQK = c.backward(reference: false, want: (true, true, false))
        let C = 16
        for i in 0..<all.count {
            let part = (i % (3 * C)) / C  // 0 q, 1 k, 2 v
            XCTAssertEqual(onlyV[i], part == 2 ? all[i] : 0.25, "only dv, element \(i)")
            XCTAssertEqual(onlyQK[i], part == 2 ? 0.25 : all[i], "only dq/dk, element \(i)")
        }
    }

    func testDeterministicAndIndependentOfThreadCount() {
        let c = Case(B: 3, NH: 4, T: 100, hs: 16, fused: true, causal: true, seed: 44)
        let saved = Parallel.threadCount
        defer { Parallel.setThreadCount(saved) }
        let f1 = c.forward(reference: false), b1 = c.backward(reference: false)
        let f2 = c.forward(reference: false), b2 = c.backward(reference: false)
        XCTAssert(f1.out == f2.out && f1.probs == f2.probs && b1 == b2, "two runs differ")
        Parallel.setThreadCount(1)
        let f3 = c.forward(reference: false), b3 = c.backward(reference: false)
        Parallel.setThreadCount(3)
        let f4 = c.forward(reference: false), b4 = c.backward(reference: false)
        XCTAssert(f1.out == f3.out && b1 == b3, "1 thread differs from \(saved)")
        XCTAssert(f1.out == f4.out && b1 == b4, "3 threads differ from \(saved)")
    }

    func testRestoresBLASThreadCount() {
        let saved = Parallel.blasThreads
        let c = Case(B: 4, NH: 4, T: 64, hs: 32, fused: false, causal: false, seed: 55)
        _ = c.forward(reference: false)
        _ = c.backward(reference: false)
        XCTAssertEqual(Parallel.blasThreads, saved)
    }
}
