// sgemmPair runs two independent products at once over shared threads: each result must equal the
// product computed alone, for every transpose, split by rows and by columns, beta 0 and 1, at 1–4
// threads (3 runs them in turn), and pairs too small to split must fall back to one after the other.
import XCTest
import Kernels

final class GemmPairTests: XCTestCase {
    override func tearDown() {
        sgemmSplitMinimumMNK = 1 << 20
        super.tearDown()
    }

    /// Stored operand sizes and strides of op(A) (m, k) · op(B) (k, n).
    private struct Case {
        let ta: Bool, tb: Bool, m: Int, n: Int, k: Int, beta: Float
        var lda: Int { ta ? m : k }
        var ldb: Int { tb ? k : n }
    }

    /// `first` and `second` computed together by sgemmPair, and each alone by sgemm on one thread.
    private func run(_ first: Case, _ second: Case, threads: Int) -> (paired: [[Float]], alone: [[Float]]) {
        let inputs = [first, second].enumerated().map { i, c in
            [randomFloats(c.m * c.k, seed: UInt64(10 * i + 1)), randomFloats(c.k * c.n, seed: UInt64(10 * i + 2)),
             randomFloats(c.m * c.n, seed: UInt64(10 * i + 3))]
        }
        func product(_ c: Case, _ p: [UnsafeMutablePointer<Float>]) -> MatrixProduct {
            MatrixProduct(transA: c.ta, transB: c.tb, m: c.m, n: c.n, k: c.k, alpha: 0.5, a: p[0], lda: c.lda,
                          b: p[1], ldb: c.ldb, beta: c.beta, c: p[2], ldc: c.n)
        }
        let paired = withThreadCounts([threads]) { _ -> [[Float]] in
            let out = withBuffers(inputs[0] + inputs[1]) { p in
                sgemmPair(product(first, Array(p[0..<3])), product(second, Array(p[3..<6])))
            }
            return [out[2], out[5]]
        }[0]
        let alone = withThreadCounts([1]) { _ in
            (0..<2).map { i in withBuffers(inputs[i]) { p in sgemm(product([first, second][i], p)) }[2] }
        }[0]
        return (paired, alone)
    }

    func testPairEqualsEachProductAlone() {
        for threshold in [1, 1 << 20] {  // pair (and split) everything; then none of these small shapes
            sgemmSplitMinimumMNK = threshold
            checkPairs(threshold: threshold)
        }
    }

    private func checkPairs(threshold: Int) {
        // dx- and dW-shaped products of a linear layer's backward, plus shapes that split by columns.
        let shapes: [(Case, Case)] = [
            (Case(ta: false, tb: false, m: 96, n: 40, k: 24, beta: 0),
             Case(ta: true, tb: false, m: 24, n: 40, k: 96, beta: 1)),
            (Case(ta: false, tb: true, m: 17, n: 70, k: 9, beta: 1),
             Case(ta: true, tb: true, m: 50, n: 33, k: 13, beta: 0)),
            (Case(ta: true, tb: false, m: 5, n: 3, k: 4, beta: 1),
             Case(ta: false, tb: false, m: 64, n: 64, k: 8, beta: 0)),
        ]
        for (first, second) in shapes {
            for threads in [1, 2, 3, 4] {
                let r = run(first, second, threads: threads)
                assertClose(r.paired[0], r.alone[0], rtol: 1e-5, atol: 1e-5,
                            "first \(first) on \(threads) threads, threshold \(threshold)")
                assertClose(r.paired[1], r.alone[1], rtol: 1e-5, atol: 1e-5,
                            "second \(second) on \(threads) threads, threshold \(threshold)")
            }
        }
    }

    func testPairIsBitwiseReproducible() {
        let first = Case(ta: false, tb: false, m: 768, n: 128, k: 384, beta: 0)
        let second = Case(ta: true, tb: false, m: 384, n: 128, k: 768, beta: 1)
        let runs = (0..<3).map { _ in run(first, second, threads: 2).paired }
        for i in 1..<3 {
            assertBitwiseEqual(runs[i][0], runs[0][0], "first product, run \(i + 1)")
            assertBitwiseEqual(runs[i][1], runs[0][1], "second product, run \(i + 1)")
        }
    }
}
