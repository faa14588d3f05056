// softmaxForward/softmaxBackward against the Double reference, including large offsets and -inf
// (masked) entries, and bitwise agreement across thread counts.
import XCTest
import Kernels

final class SoftmaxKernelTests: XCTestCase {
    let shapes = [(1, 1), (3, 7), (5, 16), (4, 33), (2, 1000), (67, 771)]

    func testForwardMatchesReference() {
        for (rows, cols) in shapes {
            for offset: Float in [0, 1000] {
                let x = randomFloats(rows * cols, seed: UInt64(rows * cols), mean: offset, std: 4)
                let r = withBuffers([x, x]) { p in
                    softmaxForward(p[0], p[0], rows: rows, cols: cols)
                    softmaxForwardReference(p[1], p[1], rows: rows, cols: cols)
                }
                assertClose(r[0], r[1], rtol: 2e-6, atol: 1e-9, "softmax(\(rows), \(cols)) offset \(offset)")
                for i in 0..<rows {
                    let s = r[0][(i * cols)..<((i + 1) * cols)].reduce(0.0) { $0 + Double($1) }
                    XCTAssertEqual(s, 1, accuracy: 1e-5, "row \(i) sums to \(s)")
                }
            }
        }
    }

    func testMaskedEntriesGetZero() {
        let cols = 37
        var x = randomFloats(2 * cols, seed: 9)
        for j in stride(from: 0, to: 2 * cols, by: 3) { x[j] = -.infinity }
        let r = withBuffers([x, x]) { p in
            softmaxForward(p[0], p[0], rows: 2, cols: cols)
            softmaxForwardReference(p[1], p[1], rows: 2, cols: cols)
        }
        assertClose(r[0], r[1], rtol: 2e-6, atol: 1e-9, "masked softmax")
        for j in stride(from: 0, to: 2 * cols, by: 3) { XCTAssertEqual(r[0][j], 0) }
    }

    func testBackwardMatchesReference() {
        for (rows, cols) in shapes {
            let n = rows * cols
            let x = randomFloats(n, seed: UInt64(7 + n), std: 2)
            let dy = randomFloats(n, seed: UInt64(8 + n)), d0 = randomFloats(n, seed: UInt64(9 + n))
            let y = withBuffers([x]) { p in softmaxForward(p[0], p[0], rows: rows, cols: cols) }[0]
            let r = withBuffers([d0, d0, y, dy]) { p in
                softmaxBackward(p[0], p[2], p[3], rows: rows, cols: cols)
                softmaxBackwardReference(p[1], p[2], p[3], rows: rows, cols: cols)
            }
            assertClose(r[0], r[1], rtol: 1e-5, atol: 1e-6, "dsoftmax(\(rows), \(cols))")
        }
    }

    func testThreadCountsGiveSameBits() {
        let rows = 97, cols = 1001, n = rows * cols
        let x = randomFloats(n, seed: 1, std: 3), dy = randomFloats(n, seed: 2)
        let runs = withThreadCounts([1, 2, 3]) { _ in
            withBuffers([x, [Float](repeating: 0, count: n), dy]) { p in
                softmaxForward(p[0], p[0], rows: rows, cols: cols)
                softmaxBackward(p[1], p[0], p[2], rows: rows, cols: cols)
            }
        }
        for k in 1..<runs.count {
            assertBitwiseEqual(runs[k][0], runs[0][0], "softmax, run \(k)")
            assertBitwiseEqual(runs[k][1], runs[0][1], "dsoftmax, run \(k)")
        }
    }

    func testRowHelpers() {
        for n in [1, 5, 16, 31, 32, 33, 100] {
            let a = randomFloats(n, seed: UInt64(n), std: 3), b = randomFloats(n, seed: UInt64(50 + n))
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    XCTAssertEqual(rowMax(pa.baseAddress!, count: n), a.max()!)
                    let dot = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                    XCTAssertEqual(Double(rowDot(pa.baseAddress!, pb.baseAddress!, count: n)), dot,
                                   accuracy: 1e-5 * Double(n))
                    let m = a.max()!
                    let s = a.reduce(0.0) { $0 + exp(Double($1 - m)) }
                    XCTAssertEqual(Double(expShiftSum(nil, pa.baseAddress!, count: n, shift: m)), s, accuracy: 1e-6 * s)
                }
            }
        }
    }
}
