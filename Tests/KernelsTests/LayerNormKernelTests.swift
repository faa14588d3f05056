// layerNormForward/layerNormBackward against Double references (backward against a first-principles
// O(C²) Jacobian product), with and without the affine parameters, and bitwise agreement across
// thread counts (dweight/dbias use a fixed chunk partition).
import XCTest
import Kernels

final class LayerNormKernelTests: XCTestCase {
    let shapes = [(1, 1), (3, 5), (4, 16), (7, 33), (5, 768), (67, 771)]
    let affines = [(true, true), (true, false), (false, true), (false, false)]

    func testForwardMatchesReference() {
        for (rows, c) in shapes {
            for (hasW, hasB) in affines {
                let n = rows * c
                let x = randomFloats(n, seed: UInt64(n), mean: 3, std: 2)  // off-centre: tests the centring
                let w = randomFloats(c, seed: 1, mean: 1, std: 0.5), b = randomFloats(c, seed: 2)
                let zeros = [Float](repeating: 0, count: n), stats = [Float](repeating: 0, count: rows)
                let r = withBuffers([zeros, zeros, stats, stats, stats, stats, x, w, b]) { p in
                    layerNormForward(p[0], mean: p[2], rstd: p[3], p[6], weight: hasW ? p[7] : nil,
                                     bias: hasB ? p[8] : nil, rows: rows, channels: c)
                    layerNormForwardReference(p[1], mean: p[4], rstd: p[5], p[6], weight: hasW ? p[7] : nil,
                                              bias: hasB ? p[8] : nil, rows: rows, channels: c)
                }
                let tag = "(\(rows), \(c)) weight \(hasW) bias \(hasB)"
                assertClose(r[0], r[1], rtol: 1e-5, atol: 2e-6, "layerNorm out \(tag)")
                assertClose(r[2], r[4], rtol: 1e-6, atol: 1e-6, "layerNorm mean \(tag)")
                assertClose(r[3], r[5], rtol: 1e-5, atol: 0, "layerNorm rstd \(tag)")
            }
        }
    }

    func testBackwardMatchesFirstPrinciples() {
        for (rows, c) in shapes {
            for (hasW, hasB) in affines {
                let n = rows * c
                let x = randomFloats(n, seed: UInt64(10 + n), mean: -1, std: 2)
                let w = randomFloats(c, seed: 3, mean: 1, std: 0.5)
                let dy = randomFloats(n, seed: UInt64(20 + n))
                let dx0 = randomFloats(n, seed: 4), dw0 = randomFloats(c, seed: 5), db0 = randomFloats(c, seed: 6)
                let stats = [Float](repeating: 0, count: rows)
                let scratch = [Float](repeating: .nan, count: layerNormBackwardScratchCount(rows: rows, channels: c))
                let r = withBuffers([dx0, dw0, db0, dx0, dw0, db0, x, w, dy, stats, stats, x, scratch]) { p in
                    layerNormForward(p[11], mean: p[9], rstd: p[10], p[6], weight: hasW ? p[7] : nil, bias: nil,
                                     rows: rows, channels: c)
                    layerNormBackward(dinp: p[0], dweight: hasW ? p[1] : nil, dbias: hasB ? p[2] : nil, scratch: p[12],
                                      dout: p[8], inp: p[6], weight: hasW ? p[7] : nil, mean: p[9], rstd: p[10],
                                      rows: rows, channels: c)
                    layerNormBackwardReference(dinp: p[3], dweight: hasW ? p[4] : nil, dbias: hasB ? p[5] : nil,
                                               dout: p[8], inp: p[6], weight: hasW ? p[7] : nil, rows: rows,
                                               channels: c)
                }
                let tag = "(\(rows), \(c)) weight \(hasW) bias \(hasB)"
                assertClose(r[0], r[3], rtol: 1e-4, atol: 2e-5, "layerNorm dinp \(tag)")
                assertClose(r[1], r[4], rtol: 1e-4, atol: 1e-4, "layerNorm dweight \(tag)")
                assertClose(r[2], r[5], rtol: 1e-4, atol: 1e-4, "layerNorm dbias \(tag)")
                if !hasW { assertBitwiseEqual(r[1], dw0, "untouched dweight \(tag)") }
                if !hasB { assertBitwiseEqual(r[2], db0, "untouched dbias \(tag)") }
            }
        }
    }

    func testThreadCountsGiveSameBits() {
        let rows = 301, c = 257, n = rows * c
        let x = randomFloats(n, seed: 7, std: 2), w = randomFloats(c, seed: 8), b = randomFloats(c, seed: 9)
        let dy = randomFloats(n, seed: 10)
        let zeros = [Float](repeating: 0, count: n), stats = [Float](repeating: 0, count: rows)
        let cz = [Float](repeating: 0, count: c)
        let scratch = [Float](repeating: 0, count: layerNormBackwardScratchCount(rows: rows, channels: c))
        let runs = withThreadCounts([1, 2, 3, 5]) { _ in
            withBuffers([zeros, stats, stats, zeros, cz, cz, x, w, b, dy, scratch]) { p in
                layerNormForward(p[0], mean: p[1], rstd: p[2], p[6], weight: p[7], bias: p[8], rows: rows, channels: c)
                layerNormBackward(dinp: p[3], dweight: p[4], dbias: p[5], scratch: p[10], dout: p[9], inp: p[6],
                                  weight: p[7], mean: p[1], rstd: p[2], rows: rows, channels: c)
            }
        }
        for k in 1..<runs.count {
            for (i, name) in [(0, "out"), (1, "mean"), (2, "rstd"), (3, "dinp"), (4, "dweight"), (5, "dbias")] {
                assertBitwiseEqual(runs[k][i], runs[0][i], "layerNorm \(name), run \(k)")
            }
        }
    }
}
