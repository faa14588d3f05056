// dropoutForward/dropoutBackward: the mask follows the element-wise reference, kept values are scaled
// by 1/(1 − p), the kept fraction matches 1 − p, and the result does not depend on the thread count.
import XCTest
import Kernels

final class DropoutKernelTests: XCTestCase {
    func testSplitMix64KnownOutputs() {
        // SplitMix64 seeded with 1234567: the published test vector of Vigna's splitmix64.c (also used
        // by Rust's rand_xoshiro tests), reproduced with a 10-line Python port before being written here.
        let want: [UInt64] = [6457827717110365317, 3203168211198807973, 9817491932198370423,
                              4593380528125082431, 16408922859458223821]
        XCTAssertEqual((0..<5).map { splitMix64(1234567, UInt64($0)) }, want)
    }

    func run(_ x: [Float], p: Float, seed: UInt64) -> (out: [Float], mask: [UInt64]) {
        var mask = [UInt64](repeating: 0, count: dropoutMaskWords(count: x.count))
        let out = withBuffers([x]) { ptr in
            mask.withUnsafeMutableBufferPointer {
                dropoutForward(ptr[0], mask: $0.baseAddress!, ptr[0], count: x.count, p: p, seed: seed)
            }
        }[0]
        return (out, mask)
    }

    func testForwardFollowsReferenceMask() {
        for n in [1, 17, 63, 64, 65, 1000, 100_003] {
            for p: Float in [0.1, 0.5] {
                let x = randomFloats(n, seed: UInt64(n), mean: 2)
                let (out, mask) = run(x, p: p, seed: 42)
                let keep = dropoutKeepReference(count: n, p: p, seed: 42)
                let scale = 1 / (1 - p)
                for i in 0..<n {
                    let bit = (mask[i / 64] >> UInt64(i % 64)) & 1 == 1
                    XCTAssertEqual(bit, keep[i], "mask bit \(i) of \(n)")
                    XCTAssertEqual(out[i], keep[i] ? x[i] * scale : 0, "out[\(i)] of \(n), p \(p)")
                    if bit != keep[i] { return }
                }
                if n % 64 != 0 { XCTAssertEqual(mask.last! >> UInt64(n % 64), 0, "bits past the end are clear") }
            }
        }
    }

    func testKeptFractionIsOneMinusP() {
        let n = 1 << 20
        let x = [Float](repeating: 1, count: n)
        for p: Float in [0.05, 0.1, 0.5, 0.9] {
            let (out, mask) = run(x, p: p, seed: 7)
            let zeroed = out.reduce(0) { $0 + ($1 == 0 ? 1 : 0) }
            let bits = mask.reduce(0) { $0 + $1.nonzeroBitCount }
            XCTAssertEqual(zeroed + bits, n)
            // The standard deviation of the fraction is √(p(1−p)/n) ≤ 5e-4; allow 6σ.
            XCTAssertEqual(Double(zeroed) / Double(n), Double(p), accuracy: 3e-3, "p \(p)")
            // Kept values are all exactly 1/(1 − p).
            XCTAssert(out.allSatisfy { $0 == 0 || $0 == 1 / (1 - p) })
        }
    }

    func testExtremeProbabilities() {
        let x = randomFloats(300, seed: 1)
        let none = run(x, p: 0, seed: 3)
        XCTAssertEqual(none.out, x)
        let all = run(x, p: 1, seed: 3)
        XCTAssert(all.out.allSatisfy { $0 == 0 })
        XCTAssert(all.mask.allSatisfy { $0 == 0 })
    }

    func testSeedsGiveDifferentMasks() {
        let x = [Float](repeating: 1, count: 4096)
        XCTAssertNotEqual(run(x, p: 0.5, seed: 1).mask, run(x, p: 0.5, seed: 2).mask)
        XCTAssertEqual(run(x, p: 0.5, seed: 1).mask, run(x, p: 0.5, seed: 1).mask)
    }

    func testBackwardUsesMaskAndScale() {
        for n in [5, 64, 130, 70_001] {
            let p: Float = 0.3
            let x = randomFloats(n, seed: 2), dy = randomFloats(n, seed: 3), d0 = randomFloats(n, seed: 4)
            let (_, mask) = run(x, p: p, seed: 9)
            let keep = dropoutKeepReference(count: n, p: p, seed: 9)
            let dx = withBuffers([d0, dy]) { ptr in
                mask.withUnsafeBufferPointer { dropoutBackward(ptr[0], ptr[1], mask: $0.baseAddress!, count: n, p: p) }
            }[0]
            for i in 0..<n {
                XCTAssertEqual(dx[i], keep[i] ? d0[i] + dy[i] * (1 / (1 - p)) : d0[i], "dx[\(i)] of \(n)")
                if dx[i] != (keep[i] ? d0[i] + dy[i] * (1 / (1 - p)) : d0[i]) { return }
            }
        }
    }

    func testThreadCountsGiveSameBits() {
        let x = randomFloats(200_001, seed: 8)
        let runs = withThreadCounts([1, 2, 3]) { _ in run(x, p: 0.2, seed: 99) }
        for k in 1..<runs.count {
            assertBitwiseEqual(runs[k].out, runs[0].out, "dropout out, run \(k)")
            XCTAssertEqual(runs[k].mask, runs[0].mask, "dropout mask, run \(k)")
        }
    }
}
