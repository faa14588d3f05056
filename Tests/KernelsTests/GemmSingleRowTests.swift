// sgemm with one output row goes to sgemv (KV-cache decoding): every transpose combination, a strided
// column of A, beta ≠ 0, and beta = 0 over a NaN-filled C, against a Double reference.
import XCTest
import Kernels

final class GemmSingleRowTests: XCTestCase {
    /// c (n) = alpha·Σ_p x[p]·op(B)[p][j] + beta·c in Double; B row-major (n, k) when `tb`, else (k, n).
    private func reference(_ tb: Bool, n: Int, k: Int, alpha: Float, x: [Float], b: [Float], beta: Float,
                           c: [Float]) -> [Float] {
        (0..<n).map { j in
            var s = 0.0
            for p in 0..<k { s += Double(x[p]) * Double(tb ? b[j * k + p] : b[p * n + j]) }
            return Float(Double(alpha) * s + Double(beta) * Double(c[j]))
        }
    }

    func testSingleRowMatchesReference() {
        let stride = 3  // with transA, op(A)'s row is column 1 of a (k, 3) matrix
        for (n, k) in [(1, 1), (7, 5), (384, 128), (65, 300)] {
            for ta in [false, true] {
                for tb in [false, true] {
                    for (beta, c0) in [(Float(0.25), randomFloats(n, seed: 3)),
                                       (0, [Float](repeating: .nan, count: n))] {
                        let a = randomFloats(ta ? k * stride : k, seed: 1), b = randomFloats(k * n, seed: 2)
                        let x = ta ? (0..<k).map { a[$0 * stride + 1] } : a
                        let expected = reference(tb, n: n, k: k, alpha: 0.5, x: x, b: b, beta: beta,
                                                 c: beta == 0 ? [Float](repeating: 0, count: n) : c0)
                        let got = withBuffers([a, b, c0]) { p in
                            sgemm(transA: ta, transB: tb, m: 1, n: n, k: k, alpha: 0.5,
                                  a: ta ? p[0] + 1 : p[0], lda: ta ? stride : k,
                                  b: p[1], ldb: tb ? k : n, beta: beta, c: p[2], ldc: n)
                        }[2]
                        assertClose(got, expected, rtol: 1e-5, atol: 1e-5,
                                    "1×\(n)×\(k) transA \(ta) transB \(tb) beta \(beta)")
                    }
                }
            }
        }
    }
}
