// geluForward (plain, and with the saved derivative) and geluBackward against the Double reference
// (the tanh formula as PyTorch writes it).
import XCTest
import Kernels

final class GeluKernelTests: XCTestCase {
    // Sizes around the 16-lane blocks and one above the parallel threshold.
    let sizes = [1, 7, 15, 16, 17, 100, 1003, 70_001]

    func testForwardMatchesReference() {
        for n in sizes {
            let x = randomFloats(n, seed: UInt64(n), std: 3)
            let r = withBuffers([x, x, x]) { p in
                geluForward(p[0], p[2], count: n)
                geluForwardReference(p[1], p[2], count: n)
            }
            // Relative: fastExp's ≤ 1.2e-7 plus the rounding of its argument −2u (6e-8 of |2u|, which grows
            // large only where gelu(x) is tiny). Absolute: the Double reference's own cancellation in
            // 1 + tanh(u) for negative x (~1e-16·|x|), far below 1e-9.
            assertClose(r[0], r[1], rtol: 2e-6, atol: 1e-9, "gelu(\(n))")
        }
    }

    func testBackwardAccumulatesReferenceGradient() {
        for n in sizes {
            let x = randomFloats(n, seed: UInt64(100 + n), std: 3)
            let dy = randomFloats(n, seed: UInt64(200 + n))
            let d0 = randomFloats(n, seed: UInt64(300 + n))  // existing gradient to accumulate into
            let scratch = [Float](repeating: 0, count: n)
            let r = withBuffers([d0, d0, x, dy, scratch, scratch]) { p in
                geluForward(p[4], derivative: p[5], p[2], count: n)
                geluBackward(p[0], derivative: p[5], p[3], count: n, accumulate: true)
                geluBackwardReference(p[1], p[2], p[3], count: n)
            }
            assertClose(r[0], r[1], rtol: 1e-5, atol: 1e-6, "dgelu(\(n))")
        }
    }

    /// The training forward (value and saved derivative) gives the plain forward's bits and, through
    /// the saved-derivative backward, the reference gradient, both stored and accumulated.
    func testSavedDerivativeForwardAndBackward() {
        for n in sizes {
            let x = randomFloats(n, seed: UInt64(400 + n), std: 3)
            let dy = randomFloats(n, seed: UInt64(500 + n))
            let d0 = randomFloats(n, seed: UInt64(600 + n))
            let zeros = [Float](repeating: 0, count: n)
            let r = withBuffers([x, zeros, zeros, zeros, d0, d0, dy, zeros, zeros]) { p in
                geluForward(p[1], p[0], count: n)
                geluForward(p[2], derivative: p[3], p[0], count: n)
                geluBackward(p[4], derivative: p[3], p[6], count: n, accumulate: true)
                geluBackwardReference(p[5], p[0], p[6], count: n)
                geluBackward(p[7], derivative: p[3], p[6], count: n, accumulate: false)
                geluBackwardReference(p[8], p[0], p[6], count: n)
            }
            assertBitwiseEqual(r[2], r[1], "gelu with derivative (\(n))")
            assertClose(r[4], r[5], rtol: 1e-5, atol: 1e-6, "dgelu accumulated (\(n))")
            assertClose(r[7], r[8], rtol: 1e-5, atol: 1e-6, "dgelu stored (\(n))")
        }
    }

    func testSpecialInputs() {
        let x: [Float] = [0, -0.0, 1e-20, -1e-20, 30, -30, 200, -200, .infinity, -.infinity]
        let r = withBuffers([x, x]) { p in geluForward(p[1], p[0], count: x.count) }[1]
        XCTAssertEqual(r[0], 0)
        XCTAssertEqual(r[2], 5e-21, accuracy: 1e-27)
        XCTAssertEqual(r[4], 30)
        XCTAssertEqual(r[5], 0, accuracy: 1e-30)
        XCTAssertEqual(r[6], 200)
        XCTAssertEqual(r[7], 0, accuracy: 1e-30)
        XCTAssertEqual(r[8], .infinity)
        XCTAssertFalse(r.prefix(9).contains { $0.isNaN }, "\(r)")
    }

    func testInPlaceAndThreadCountsGiveSameBits() {
        let n = 100_003
        let x = randomFloats(n, seed: 5, std: 2), dy = randomFloats(n, seed: 6)
        let runs = withThreadCounts([1, 2, 3]) { _ in
            withBuffers([x, x, [Float](repeating: 0, count: n), dy, x]) { p in
                geluForward(p[0], p[0], count: n)  // in place
                geluForward(p[4], derivative: p[1], p[4], count: n)  // in place, derivative into p[1]
                geluBackward(p[2], derivative: p[1], p[3], count: n, accumulate: true)
            }
        }
        for k in 1..<runs.count {
            assertBitwiseEqual(runs[k][0], runs[0][0], "gelu out, run \(k)")
            assertBitwiseEqual(runs[k][2], runs[0][2], "dgelu, run \(k)")
        }
    }
}
