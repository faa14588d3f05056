// The attention ops with the tiled kernels forced (AttentionMethod.force(.tiled)): gradients against
// central finite differences, forward and gradients equal to the materialized kernels within 1e-5,
// packed segments against each document on its own, bitwise determinism, and the automatic choice.
import XCTest
import Autograd
import Kernels
import TestSupport

final class TiledAttentionGradientTests: XCTestCase {
    override func setUp() { Tape.current.reset(); AttentionMethod.force(.tiled) }
    override func tearDown() { AttentionMethod.force(nil); Tape.current.reset() }

    func testSDPAGradients() {
        var rng = RandomGenerator(seed: 11)
        for shape in [[1, 1, 1, 4], [2, 2, 5, 3], [1, 2, 70, 2]] {
            for causal in [true, false] {
                let q = Tensor.normal(shape, rng: &rng), k = Tensor.normal(shape, rng: &rng)
                let v = Tensor.normal(shape, rng: &rng)
                checkGradients([q, k, v]) { scaledDotProductAttention(q: q, k: k, v: v, causal: causal) }
            }
        }
    }

    func testCausalSelfAttentionGradients() {
        var rng = RandomGenerator(seed: 12)
        let qkv = Tensor.normal([2, 67, 18], rng: &rng)  // C = 6, 2 heads of 3; two row and key tiles
        checkGradients([qkv]) { causalSelfAttention(qkv: qkv, heads: 2) }
        let one = Tensor.normal([1, 1, 12], rng: &rng)
        checkGradients([one]) { causalSelfAttention(qkv: one, heads: 4) }
        let segments: [Int32] = [Int32](repeating: 0, count: 3) + [Int32](repeating: 1, count: 64)
            + [Int32](repeating: 7, count: 67)
        checkGradients([qkv]) { causalSelfAttention(qkv: qkv, heads: 2, segments: segments) }
    }

    /// Output and dqkv of the op under each method, for a weighted-sum loss.
    private func run(_ method: AttentionMethod, B: Int, T: Int, C: Int, heads: Int, segments: [Int32]? = nil,
                     seed: UInt64) -> (out: [Float], grad: [Float]) {
        AttentionMethod.force(method)
        var rng = RandomGenerator(seed: seed)
        let qkv = Tensor.normal([B, T, 3 * C], rng: &rng, requiresGrad: true)
        let w = Tensor.normal([B, T, C], rng: &rng)
        let out = causalSelfAttention(qkv: qkv, heads: heads, segments: segments)
        sum(out * w).backward()
        return (out.array, qkv.grad!.array)
    }

    func testEqualsMaterializedKernels() {
        // Head sizes 16, 32, 64 and 128; T = 1, off the tile, and several tiles.
        for (B, T, C, heads) in [(2, 1, 64, 4), (2, 130, 64, 4), (1, 200, 128, 4), (1, 97, 128, 2), (1, 65, 128, 1)] {
            let label = "B=\(B) T=\(T) C=\(C) heads=\(heads)"
            let tiled = run(.tiled, B: B, T: T, C: C, heads: heads, seed: UInt64(T))
            let full = run(.materialized, B: B, T: T, C: C, heads: heads, seed: UInt64(T))
            let o = compareClose(tiled.out, full.out, rtol: 0, atol: 1e-5, name: "out \(label)")
            XCTAssert(o.ok, o.message)
            let g = compareClose(tiled.grad, full.grad, rtol: 0, atol: 1e-5, name: "dqkv \(label)")
            XCTAssert(g.ok, g.message)
        }
    }

    func testSegmentsEqualMaterializedKernels() {
        let T = 150
        var segments = [Int32](repeating: 0, count: 2 * T)
        for i in 0..<T { segments[i] = i < 5 ? 1 : i < 80 ? 2 : 3 }   // runs cross the tiles
        for i in 0..<T { segments[T + i] = i < 140 ? 4 : 5 }
        let tiled = run(.tiled, B: 2, T: T, C: 64, heads: 2, segments: segments, seed: 3)
        let full = run(.materialized, B: 2, T: T, C: 64, heads: 2, segments: segments, seed: 3)
        let o = compareClose(tiled.out, full.out, rtol: 0, atol: 1e-5, name: "out")
        XCTAssert(o.ok, o.message)
        let g = compareClose(tiled.grad, full.grad, rtol: 0, atol: 1e-5, name: "dqkv")
        XCTAssert(g.ok, g.message)
    }

    func testDeterministicForwardAndBackward() {
        let a = run(.tiled, B: 3, T: 150, C: 48, heads: 3, seed: 8)
        let b = run(.tiled, B: 3, T: 150, C: 48, heads: 3, seed: 8)
        XCTAssert(a.out == b.out, "forward differs between runs")
        XCTAssert(a.grad == b.grad, "backward differs between runs")
    }

    func testAutomaticChoiceFollowsTheRule() {
        AttentionMethod.force(nil)
        XCTAssertNil(AttentionMethod.forced)
        let g = AttentionGeometry.fused(B: 1, T: AttentionMethod.tiledFromT - 1, NH: 1, hs: 32)
        XCTAssertEqual(AttentionMethod.chosen(g), .materialized)
        AttentionMethod.force(.tiled)
        XCTAssertEqual(AttentionMethod.chosen(g), .tiled)
    }
}
