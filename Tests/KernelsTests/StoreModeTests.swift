// Backward kernels called with accumulate: false (a fresh, not zero-filled gradient buffer) must store
// exactly what accumulating into zeros gives, without reading the buffer: it starts full of NaN here.
import XCTest
import Kernels

final class StoreModeTests: XCTestCase {
    /// Runs `body` on a zero-filled buffer with accumulation and on a NaN-filled one without, and
    /// checks that both give the same bits.
    private func check(_ name: String, count: Int, _ body: (UnsafeMutablePointer<Float>, Bool) -> Void) {
        let zeros = [Float](repeating: 0, count: count), nans = [Float](repeating: .nan, count: count)
        let accumulated = withBuffers([zeros]) { body($0[0], true) }[0]
        let stored = withBuffers([nans]) { body($0[0], false) }[0]
        assertBitwiseEqual(stored, accumulated, name)
        XCTAssertTrue(stored.allSatisfy { $0.isFinite }, "\(name): non-finite values stored")
    }

    func testGeluBackward() {
        let n = 1000  // not a multiple of 16: exercises the partial tail
        let x = randomFloats(n, seed: 1), dy = randomFloats(n, seed: 2)
        let derivative = withBuffers([x, x, x]) { p in geluForward(p[1], derivative: p[2], p[0], count: n) }[2]
        check("geluBackward", count: n) { d, acc in
            _ = withBuffers([derivative, dy]) { p in
                geluBackward(d, derivative: p[0], p[1], count: n, accumulate: acc)
            }
        }
    }

    func testDropoutBackward() {
        let n = 1000
        let x = randomFloats(n, seed: 3), dy = randomFloats(n, seed: 4)
        var mask = [UInt64](repeating: 0, count: dropoutMaskWords(count: n))
        _ = withBuffers([x, [Float](repeating: 0, count: n)]) { p in
            mask.withUnsafeMutableBufferPointer {
                dropoutForward(p[1], mask: $0.baseAddress!, p[0], count: n, p: 0.3, seed: 9)
            }
        }
        check("dropoutBackward", count: n) { d, acc in
            _ = withBuffers([dy]) { p in
                mask.withUnsafeBufferPointer {
                    dropoutBackward(d, p[0], mask: $0.baseAddress!, count: n, p: 0.3, accumulate: acc)
                }
            }
        }
    }

    func testCrossEntropyBackwardWithIgnoredRow() {
        let rows = 5, v = 37
        let logits = randomFloats(rows * v, seed: 5)
        let targets: [Int32] = [3, -1, 36, 0, 17]
        var lse = [Float](repeating: 0, count: rows), losses = lse
        logits.withUnsafeBufferPointer { l in
            crossEntropyForward(losses: &losses, lse: &lse, logits: l.baseAddress!, targets: targets, rows: rows,
                                vocab: v)
        }
        check("crossEntropyBackward", count: rows * v) { d, acc in
            logits.withUnsafeBufferPointer { l in
                crossEntropyBackward(dlogits: d, logits: l.baseAddress!, lse: lse, targets: targets, scale: 0.25,
                                     rows: rows, vocab: v, accumulate: acc)
            }
        }
    }

    func testLayerNormBackwardInput() {
        let rows = 6, c = 50
        let x = randomFloats(rows * c, seed: 6), dy = randomFloats(rows * c, seed: 7), w = randomFloats(c, seed: 8)
        var mean = [Float](repeating: 0, count: rows), rstd = mean
        _ = withBuffers([x, [Float](repeating: 0, count: rows * c), w]) { p in
            layerNormForward(p[1], mean: &mean, rstd: &rstd, p[0], weight: p[2], bias: nil, rows: rows, channels: c)
        }
        let scratch = [Float](repeating: 0, count: layerNormBackwardScratchCount(rows: rows, channels: c))
        for weighted in [true, false] {
            check("layerNormBackward dinp (weight: \(weighted))", count: rows * c) { d, acc in
                _ = withBuffers([x, dy, w, scratch]) { p in
                    layerNormBackward(dinp: d, dweight: nil, dbias: nil, scratch: p[3], dout: p[1], inp: p[0],
                                      weight: weighted ? p[2] : nil, mean: mean, rstd: rstd, rows: rows, channels: c,
                                      accumulateInput: acc)
                }
            }
        }
    }

    func testAxpyOrAssign() {
        let n = 300
        let src = randomFloats(n, seed: 10)
        for alpha: Float in [1, -1, 0.5] {
            check("axpyOrAssign alpha \(alpha)", count: n) { d, acc in
                _ = withBuffers([src]) { p in axpyOrAssign(d, p[0], count: n, alpha: alpha, accumulate: acc) }
            }
        }
    }
}
