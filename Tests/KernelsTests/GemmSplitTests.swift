// sgemm's split of large products over our threads: every transpose combination, splits by rows and
// by columns, odd sizes and beta ≠ 0, against a Double reference; and the same bits on every run.
import XCTest
import Kernels

final class GemmSplitTests: XCTestCase {
    override func tearDown() {
        sgemmSplitMinimumMNK = 1 << 20
        super.tearDown()
    }

    /// C = alpha·op(A)·op(B) + beta·C in Double, row-major.
    private func reference(_ ta: Bool, _ tb: Bool, m: Int, n: Int, k: Int, alpha: Float, a: [Float], b: [Float],
                           beta: Float, c: [Float]) -> [Float] {
        var out = c
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let x = ta ? a[p * m + i] : a[i * k + p]
                    let y = tb ? b[j * k + p] : b[p * n + j]
                    s += Double(x) * Double(y)
                }
                out[i * n + j] = Float(Double(alpha) * s + Double(beta) * Double(c[i * n + j]))
            }
        }
        return out
    }

    func testSplitMatchesReference() {
        sgemmSplitMinimumMNK = 1  // split everything
        for (m, n, k) in [(70, 33, 19), (21, 90, 17), (5, 3, 4), (130, 130, 8)] {
            for ta in [false, true] {
                for tb in [false, true] {
                    let a = randomFloats(m * k, seed: 1), b = randomFloats(k * n, seed: 2)
                    let c0 = randomFloats(m * n, seed: 3)
                    let expected = reference(ta, tb, m: m, n: n, k: k, alpha: 0.5, a: a, b: b, beta: 0.25, c: c0)
                    let results = withThreadCounts([1, 2, 3]) { _ -> [Float] in
                        withBuffers([a, b, c0]) { p in
                            sgemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.5, a: p[0], lda: ta ? m : k,
                                  b: p[1], ldb: tb ? k : n, beta: 0.25, c: p[2], ldc: n)
                        }[2]
                    }
                    for (threads, r) in zip([1, 2, 3], results) {
                        assertClose(r, expected, rtol: 1e-5, atol: 1e-5,
                                    "sgemm \(m)×\(n)×\(k) transA \(ta) transB \(tb) on \(threads) threads")
                    }
                }
            }
        }
    }

    func testBetaZeroIgnoresNaNInC() {
        sgemmSplitMinimumMNK = 1
        let m = 40, n = 24, k = 16
        let a = randomFloats(m * k, seed: 4), b = randomFloats(k * n, seed: 5)
        let expected = reference(false, false, m: m, n: n, k: k, alpha: 1, a: a, b: b, beta: 0,
                                 c: [Float](repeating: 0, count: m * n))
        let r = withThreadCounts([2]) { _ in
            withBuffers([a, b, [Float](repeating: .nan, count: m * n)]) { p in
                sgemm(m: m, n: n, k: k, a: p[0], lda: k, b: p[1], ldb: n, beta: 0, c: p[2], ldc: n)
            }[2]
        }[0]
        assertClose(r, expected, rtol: 1e-5, atol: 1e-5, "sgemm beta 0 over a NaN-filled C")
    }

    func testSplitIsReproducible() {
        let m = 300, n = 200, k = 64
        let a = randomFloats(m * k, seed: 6), b = randomFloats(k * n, seed: 7)
        let runs = (0..<3).map { _ in
            withThreadCounts([2]) { _ in
                withBuffers([a, b, [Float](repeating: 0, count: m * n)]) { p in
                    sgemm(transB: false, m: m, n: n, k: k, a: p[0], lda: k, b: p[1], ldb: n, c: p[2], ldc: n)
                }[2]
            }[0]
        }
        assertBitwiseEqual(runs[1], runs[0], "second run")
        assertBitwiseEqual(runs[2], runs[0], "third run")
    }
}
