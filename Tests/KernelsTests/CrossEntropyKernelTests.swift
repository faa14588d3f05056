// crossEntropyForward/Backward/Mean against Double references, with ignored rows, large logits, and
// bitwise agreement across thread counts.
import XCTest
import Kernels

final class CrossEntropyKernelTests: XCTestCase {
    let shapes = [(1, 1), (4, 7), (5, 16), (6, 50), (33, 1001), (40, 5000)]

    /// Random targets in 0..<v with every third row ignored (-1).
    func targets(_ rows: Int, _ v: Int, seed: UInt64) -> [Int32] {
        var rng = RandomGenerator(seed: seed)
        return (0..<rows).map { $0 % 3 == 1 ? -1 : Int32(rng.nextInt(below: v)) }
    }

    func testForwardAndMeanMatchReference() {
        for (rows, v) in shapes {
            for std: Float in [1, 30] {
                let x = randomFloats(rows * v, seed: UInt64(rows * v), std: std)
                let t = targets(rows, v, seed: UInt64(rows))
                let zeros = [Float](repeating: 0, count: rows)
                var mean: (mean: Float, count: Int) = (0, 0)
                let r = withBuffers([zeros, zeros, zeros, x]) { p in
                    t.withUnsafeBufferPointer { tp in
                        crossEntropyForward(losses: p[0], lse: p[1], logits: p[3], targets: tp.baseAddress!, rows: rows,
                                            vocab: v)
                        crossEntropyForwardReference(losses: p[2], logits: p[3], targets: tp.baseAddress!, rows: rows,
                                                     vocab: v)
                        mean = crossEntropyMean(losses: p[0], targets: tp.baseAddress!, rows: rows)
                    }
                }
                let tag = "(\(rows), \(v)) std \(std)"
                assertClose(r[0], r[2], rtol: 1e-5, atol: 2e-6 * Double(std), "losses \(tag)")
                let kept = (0..<rows).filter { t[$0] != -1 }
                XCTAssertEqual(mean.count, kept.count)
                let want = kept.isEmpty ? 0 : kept.reduce(0.0) { $0 + Double(r[2][$1]) } / Double(kept.count)
                XCTAssertEqual(Double(mean.mean), want, accuracy: 1e-5 * max(1, abs(want)), "mean \(tag)")
                for i in 0..<rows where t[i] == -1 { XCTAssertEqual(r[0][i], 0, "ignored row \(i) \(tag)") }
            }
        }
    }

    func testAllRowsIgnoredGiveZeroMean() {
        let t: [Int32] = [-1, -1, -1], losses: [Float] = [5, 6, 7]
        let m = t.withUnsafeBufferPointer { tp in
            losses.withUnsafeBufferPointer {
                crossEntropyMean(losses: $0.baseAddress!, targets: tp.baseAddress!, rows: 3)
            }
        }
        XCTAssertEqual(m.mean, 0)
        XCTAssertEqual(m.count, 0)
    }

    func testCustomIgnoreIndex() {
        let v = 5, x = randomFloats(3 * v, seed: 3)
        let t: [Int32] = [2, 4, 0]  // with ignoreIndex 4, row 1 is skipped
        let r = withBuffers([[0, 0, 0], [0, 0, 0], [0, 0, 0], x]) { p in
            t.withUnsafeBufferPointer { tp in
                crossEntropyForward(losses: p[0], lse: p[1], logits: p[3], targets: tp.baseAddress!, rows: 3, vocab: v,
                                    ignoreIndex: 4)
                crossEntropyForwardReference(losses: p[2], logits: p[3], targets: tp.baseAddress!, rows: 3, vocab: v,
                                             ignoreIndex: 4)
            }
        }
        assertClose(r[0], r[2], rtol: 1e-5, atol: 1e-6, "losses")
        XCTAssertEqual(r[0][1], 0)
        XCTAssertGreaterThan(r[0][0], 0)
    }

    func testBackwardMatchesReference() {
        for (rows, v) in shapes {
            let n = rows * v
            let x = randomFloats(n, seed: UInt64(n + 1), std: 3)
            let t = targets(rows, v, seed: UInt64(rows + 1))
            let d0 = randomFloats(n, seed: UInt64(n + 2), std: 0.01)
            let stats = [Float](repeating: 0, count: rows)
            let scale: Float = 0.37
            let r = withBuffers([d0, d0, x, stats, stats]) { p in
                t.withUnsafeBufferPointer { tp in
                    crossEntropyForward(losses: p[3], lse: p[4], logits: p[2], targets: tp.baseAddress!, rows: rows,
                                        vocab: v)
                    crossEntropyBackward(dlogits: p[0], logits: p[2], lse: p[4], targets: tp.baseAddress!, scale: scale,
                                         rows: rows, vocab: v)
                    crossEntropyBackwardReference(dlogits: p[1], logits: p[2], targets: tp.baseAddress!, scale: scale,
                                                  rows: rows, vocab: v)
                }
            }
            assertClose(r[0], r[1], rtol: 1e-5, atol: 1e-7, "dlogits (\(rows), \(v))")
            for i in 0..<rows where t[i] == -1 {
                assertBitwiseEqual(Array(r[0][(i * v)..<((i + 1) * v)]), Array(d0[(i * v)..<((i + 1) * v)]),
                                   "ignored row \(i)")
            }
        }
    }

    func testThreadCountsGiveSameBits() {
        let rows = 64, v = 3001, n = rows * v
        let x = randomFloats(n, seed: 11, std: 2), t = targets(rows, v, seed: 12)
        let stats = [Float](repeating: 0, count: rows)
        let runs = withThreadCounts([1, 2, 3]) { _ in
            withBuffers([stats, stats, x, [Float](repeating: 0, count: n)]) { p in
                t.withUnsafeBufferPointer { tp in
                    crossEntropyForward(losses: p[0], lse: p[1], logits: p[2], targets: tp.baseAddress!, rows: rows,
                                        vocab: v)
                    crossEntropyBackward(dlogits: p[3], logits: p[2], lse: p[1], targets: tp.baseAddress!,
                                         scale: 1.0 / 64,
                                         rows: rows, vocab: v)
                }
            }
        }
        for k in 1..<runs.count {
            assertBitwiseEqual(runs[k][0], runs[0][0], "losses, run \(k)")
            assertBitwiseEqual(runs[k][3], runs[0][3], "dlogits, run \(k)")
        }
    }
}
