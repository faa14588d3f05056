// fastExp / fastTanh against Double libm over their whole ranges, special values, and agreement of
// the scalar, SIMD8, SIMD16 and buffer forms.
import XCTest
import Foundation
import Kernels

final class FastMathTests: XCTestCase {
    /// Worst |f(x) − ref(x)|/|ref(x)| over a uniform grid of `n` points in [lo, hi] and a logarithmic
    /// sweep of ±10^(−30…0) (where an absolute-error method would show up as a large relative error).
    func maxRelativeError(_ f: (Float) -> Float, _ ref: (Double) -> Double, lo: Float, hi: Float,
                          n: Int = 3_000_000) -> (err: Double, at: Float) {
        var worst = 0.0, at: Float = 0
        func visit(_ x: Float) {
            guard x >= lo && x <= hi && x != 0 else { return }
            let e = ref(Double(x))
            let err = abs(Double(f(x)) - e) / abs(e)
            if err > worst || err.isNaN { worst = err; at = x }
        }
        let step = (Double(hi) - Double(lo)) / Double(n)
        for i in 0...n { visit(Float(Double(lo) + Double(i) * step)) }
        var k = -30.0
        while k <= 0 { let x = Float(pow(10, k)); visit(x); visit(-x); k += 0.001 }
        return (worst, at)
    }

    func testExpRelativeErrorOverNormalRange() {
        let (err, at) = maxRelativeError({ fastExp($0) }, { Foundation.exp($0) }, lo: -87.33, hi: 88.72)
        XCTAssertLessThanOrEqual(err, 1.2e-7, "fastExp max relative error \(err) at x = \(at)")
    }

    func testExpSubnormalResultsAndLimits() {
        // Results below the smallest normal float lose relative precision but stay within a few ulps of 2⁻¹⁴⁹.
        var x: Float = -103.9
        while x < -87.4 {
            let got = Double(fastExp(x)), want = Foundation.exp(Double(x))
            XCTAssertLessThanOrEqual(abs(got - want), 4 * Double(Float.leastNonzeroMagnitude) + 2e-7 * want, "x = \(x)")
            x += 0.0137
        }
        XCTAssertEqual(fastExp(0), 1)
        XCTAssertEqual(fastExp(-Float.infinity), 0)
        XCTAssertEqual(fastExp(-104), 0)
        XCTAssertEqual(fastExp(88.8), .infinity)
        XCTAssertEqual(fastExp(Float.infinity), .infinity)
        XCTAssert(fastExp(Float.nan).isNaN)
        XCTAssert(fastExp(Float.greatestFiniteMagnitude.nextDown) == .infinity)
        let big = fastExp(Float(88.72))
        XCTAssert(big.isFinite && abs(Double(big) / Foundation.exp(Double(Float(88.72))) - 1) < 2e-7,
                  "exp(88.72) = \(big)")
    }

    func testTanhRelativeError() {
        let (err, at) = maxRelativeError({ fastTanh($0) }, { Foundation.tanh($0) }, lo: -12, hi: 12)
        XCTAssertLessThanOrEqual(err, 2e-7, "fastTanh max relative error \(err) at x = \(at)")
    }

    func testTanhSpecialValues() {
        XCTAssertEqual(fastTanh(0), 0)
        XCTAssertEqual(fastTanh(-0.0).sign, .minus)
        XCTAssertEqual(fastTanh(.infinity), 1)
        XCTAssertEqual(fastTanh(-.infinity), -1)
        XCTAssertEqual(fastTanh(20), 1)
        XCTAssertEqual(fastTanh(-20), -1)
        XCTAssert(fastTanh(.nan).isNaN)
        XCTAssertEqual(fastTanh(1e-30), 1e-30)
        XCTAssertEqual(fastTanh(Float.leastNonzeroMagnitude), Float.leastNonzeroMagnitude)
    }

    func testAllFormsAgreeBitwise() {
        let n = 1003  // not a multiple of 16
        let x = randomFloats(n, seed: 11, std: 6)
        let out = withBuffers([x, x]) { p in
            expForward(p[0], p[0], count: n)
            tanhForward(p[1], p[1], count: n)
        }
        for i in 0..<n {
            XCTAssertEqual(out[0][i].bitPattern, fastExp(x[i]).bitPattern, "exp buffer vs scalar at \(i)")
            XCTAssertEqual(out[1][i].bitPattern, fastTanh(x[i]).bitPattern, "tanh buffer vs scalar at \(i)")
        }
        var v8 = SIMD8<Float>(), v16 = SIMD16<Float>()
        for i in 0..<8 { v8[i] = x[i] }
        for i in 0..<16 { v16[i] = x[i] }
        let e8 = fastExp(v8), t8 = fastTanh(v8), e16 = fastExp(v16), t16 = fastTanh(v16)
        for i in 0..<8 {
            XCTAssertEqual(e8[i].bitPattern, fastExp(x[i]).bitPattern)
            XCTAssertEqual(t8[i].bitPattern, fastTanh(x[i]).bitPattern)
        }
        for i in 0..<16 {
            XCTAssertEqual(e16[i].bitPattern, fastExp(x[i]).bitPattern)
            XCTAssertEqual(t16[i].bitPattern, fastTanh(x[i]).bitPattern)
        }
    }
}
