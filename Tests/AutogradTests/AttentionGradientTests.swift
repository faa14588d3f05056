// scaledDotProductAttention and causalSelfAttention: gradients against central finite differences,
// the fused path against splitHeads → SDPA → mergeHeads, packed segments against attending each
// document on its own, and bitwise determinism of forward and backward.
import XCTest
import Autograd
import Kernels
import TestSupport

final class AttentionGradientTests: XCTestCase {
    override func setUp() { Tape.current.reset() }

    func testSDPAGradients() {
        var rng = RandomGenerator(seed: 1)
        for shape in [[1, 1, 1, 4], [2, 2, 5, 3], [1, 3, 7, 2]] {
            for causal in [true, false] {
                let q = Tensor.normal(shape, rng: &rng), k = Tensor.normal(shape, rng: &rng)
                let v = Tensor.normal(shape, rng: &rng)
                checkGradients([q, k, v]) { scaledDotProductAttention(q: q, k: k, v: v, causal: causal) }
                checkGradients([q, k, v]) { scaledDotProductAttention(q: q, k: k, v: v, causal: causal, scale: 0.7) }
            }
        }
    }

    func testSDPAGradientWithSharedInput() {
        // q, k and v the same tensor: its gradient is the sum of all three contributions.
        var rng = RandomGenerator(seed: 2)
        let x = Tensor.normal([1, 2, 4, 3], rng: &rng)
        checkGradients([x]) { scaledDotProductAttention(q: x, k: x, v: x) }
    }

    func testSDPAOnlySomeInputsNeedGradients() {
        var rng = RandomGenerator(seed: 3)
        let q = Tensor.normal([2, 1, 4, 3], rng: &rng), k = Tensor.normal([2, 1, 4, 3], rng: &rng)
        let v = Tensor.normal([2, 1, 4, 3], rng: &rng)
        checkGradients([v]) { scaledDotProductAttention(q: q.copy(), k: k.copy(), v: v) }
        checkGradients([q, k]) { scaledDotProductAttention(q: q, k: k, v: v.copy()) }
    }

    func testCausalSelfAttentionGradients() {
        var rng = RandomGenerator(seed: 4)
        let qkv = Tensor.normal([2, 5, 18], rng: &rng)  // C = 6, 2 heads of 3
        checkGradients([qkv]) { causalSelfAttention(qkv: qkv, heads: 2) }
        let one = Tensor.normal([1, 1, 12], rng: &rng)
        checkGradients([one]) { causalSelfAttention(qkv: one, heads: 4) }
    }

    func testCausalSelfAttentionSegmentGradients() {
        var rng = RandomGenerator(seed: 5)
        let qkv = Tensor.normal([2, 6, 12], rng: &rng)  // C = 4, 2 heads of 2
        let segments: [Int32] = [0, 0, 1, 1, 1, 2,  5, 5, 5, 5, 5, 5]
        checkGradients([qkv]) { causalSelfAttention(qkv: qkv, heads: 2, segments: segments) }
    }

    /// causalSelfAttention(qkv) and its gradient against splitHeads → SDPA → mergeHeads on the same data.
    func testFusedPathEqualsSplitAttendMerge() {
        var rng = RandomGenerator(seed: 6)
        for (B, T, C, heads) in [(2, 5, 8, 2), (2, 70, 64, 4), (1, 131, 24, 3)] {
            let qkv = Tensor.normal([B, T, 3 * C], rng: &rng, requiresGrad: true)
            let w = Tensor.normal([B, T, C], rng: &rng)

            let fused = causalSelfAttention(qkv: qkv, heads: heads)
            sum(fused * w).backward()
            let fusedGrad = qkv.grad!.array
            qkv.grad = nil

            let q = splitHeads(slice(qkv, lastAxis: 0..<C), heads: heads)
            let k = splitHeads(slice(qkv, lastAxis: C..<(2 * C)), heads: heads)
            let v = splitHeads(slice(qkv, lastAxis: (2 * C)..<(3 * C)), heads: heads)
            let composed = mergeHeads(scaledDotProductAttention(q: q, k: k, v: v, causal: true))
            sum(composed * w).backward()
            let composedGrad = qkv.grad!.array

            let label = "B=\(B) T=\(T) C=\(C) heads=\(heads)"
            XCTAssertEqual(fused.shape, [B, T, C])
            let f = compareClose(fused.array, composed.array, rtol: 0, atol: 1e-6, name: "out \(label)")
            XCTAssert(f.ok, f.message)
            let g = compareClose(fusedGrad, composedGrad, rtol: 0, atol: 1e-6, name: "dqkv \(label)")
            XCTAssert(g.ok, g.message)
        }
    }

    /// Packed documents give each document exactly what it gets when attended on its own.
    func testSegmentsEqualSeparateDocuments() {
        var rng = RandomGenerator(seed: 7)
        let T = 75, C = 12, heads = 3
        let lengths = [[3, 1, 66, 5], [75]]
        var segments: [Int32] = []
        for row in lengths {
            for (d, n) in row.enumerated() { segments += [Int32](repeating: Int32(10 * d + 1), count: n) }
        }
        let qkv = Tensor.normal([2, T, 3 * C], rng: &rng, requiresGrad: true)
        let w = Tensor.normal([2, T, C], rng: &rng)
        let packed = causalSelfAttention(qkv: qkv, heads: heads, segments: segments)
        sum(packed * w).backward()
        let packedGrad = qkv.grad!.array

        for (b, row) in lengths.enumerated() {
            var start = 0
            for n in row {
                let rows = Array((b * T + start)..<(b * T + start + n))
                let doc = Tensor(withoutGrad { selectRows(qkv, rows: rows) }.array, shape: [1, n, 3 * C],
                                 requiresGrad: true)
                let wDoc = Tensor(withoutGrad { selectRows(w, rows: rows) }.array, shape: [1, n, C])
                let alone = causalSelfAttention(qkv: doc, heads: heads)
                sum(alone * wDoc).backward()
                let label = "batch \(b) document at \(start) of length \(n)"
                let got = withoutGrad { selectRows(packed, rows: rows) }.array
                let o = compareClose(got, alone.array, rtol: 0, atol: 1e-6, name: "out \(label)")
                XCTAssert(o.ok, o.message)
                var gotGrad: [Float] = []
                for r in rows { gotGrad += packedGrad[(r * 3 * C)..<((r + 1) * 3 * C)] }
                let g = compareClose(gotGrad, doc.grad!.array, rtol: 0, atol: 1e-6, name: "dqkv \(label)")
                XCTAssert(g.ok, g.message)
                start += n
            }
        }
        Tape.current.reset()
    }

    func testDeterministicForwardAndBackward() {
        func run() -> ([Float], [Float]) {
            var rng = RandomGenerator(seed: 8)
            let qkv = Tensor.normal([4, 96, 3 * 48], rng: &rng, requiresGrad: true)
            let w = Tensor.normal([4, 96, 48], rng: &rng)
            let out = causalSelfAttention(qkv: qkv, heads: 3)
            sum(out * w).backward()
            return (out.array, qkv.grad!.array)
        }
        let a = run(), b = run()
        XCTAssert(a.0 == b.0, "forward differs between runs")
        XCTAssert(a.1 == b.1, "backward differs between runs")
    }

    func testNoRecordingWithoutGrad() {
        var rng = RandomGenerator(seed: 9)
        let qkv = Tensor.normal([1, 4, 6], rng: &rng, requiresGrad: true)
        let before = Tape.current.count
        let out = withoutGrad { causalSelfAttention(qkv: qkv, heads: 1) }
        XCTAssertEqual(Tape.current.count, before)
        XCTAssertFalse(out.requiresGrad)
        // Row 0 attends only to itself: its output is its own v.
        XCTAssertEqual(Array(out.array[0..<2]), Array(qkv.array[4..<6]))
    }
}
