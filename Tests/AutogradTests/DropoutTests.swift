// dropout: gradient check with a fixed mask (same seed on every evaluation), the kept fraction, the
// 1/(1 − p) scale, identity when not training, and how the generator advances.
import XCTest
import Autograd
import Kernels
import TestSupport

final class DropoutTests: XCTestCase {
    func testGradientWithFixedMask() {
        var rng = RandomGenerator(seed: 51)
        let x = Tensor.normal([3, 37], rng: &rng)
        checkGradients([x]) {
            var maskRNG = RandomGenerator(seed: 52)  // the same mask on every call
            return dropout(x, p: 0.4, training: true, rng: &maskRNG)
        }
    }

    func testKeptFractionAndScale() {
        let n = 200_000
        let x = Tensor.ones([n])
        var rng = RandomGenerator(seed: 53)
        for p: Float in [0.1, 0.25, 0.5] {
            let y = dropout(x, p: p, training: true, rng: &rng).array
            let zeros = y.filter { $0 == 0 }.count
            // σ of the fraction is √(p(1−p)/n) ≤ 1.2e-3; allow about 6σ.
            XCTAssertEqual(Double(zeros) / Double(n), Double(p), accuracy: 7e-3, "p = \(p)")
            XCTAssert(y.allSatisfy { $0 == 0 || $0 == 1 / (1 - p) }, "kept values are scaled by 1/(1 − p)")
            // The mean is preserved in expectation.
            XCTAssertEqual(y.reduce(0.0) { $0 + Double($1) } / Double(n), 1, accuracy: 0.02)
        }
    }

    func testIdentityWhenNotTrainingOrZeroProbability() {
        var rng = RandomGenerator(seed: 54)
        let before = rng
        let x = Tensor.normal([4, 5], rng: &rng, requiresGrad: true)
        let afterInit = rng
        XCTAssert(dropout(x, p: 0.5, training: false, rng: &rng) === x)
        XCTAssert(dropout(x, p: 0, training: true, rng: &rng) === x)
        XCTAssertEqual(rng, afterInit, "no draw when dropout is the identity")
        XCTAssertNotEqual(before, afterInit)
    }

    func testSameSeedSameMaskAndGeneratorAdvances() {
        let x = Tensor.ones([1000])
        var a = RandomGenerator(seed: 55), b = RandomGenerator(seed: 55)
        let ya = dropout(x, p: 0.5, training: true, rng: &a).array
        let yb = dropout(x, p: 0.5, training: true, rng: &b).array
        XCTAssertEqual(ya, yb)
        var c = RandomGenerator(seed: 55)
        _ = c.nextUInt64()
        XCTAssertEqual(a, c, "one 64-bit draw per training call")
        let next = dropout(x, p: 0.5, training: true, rng: &a).array
        XCTAssertNotEqual(next, ya, "the next call draws a new mask")
    }
}
