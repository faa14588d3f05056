// Finite-difference gradient checks of gelu and softmax, and their shape and value contracts.
import XCTest
import Autograd
import Kernels
import TestSupport

final class ActivationGradientTests: XCTestCase {
    func testGeluGradient() {
        var rng = RandomGenerator(seed: 21)
        let x = Tensor.normal([3, 17], std: 2, rng: &rng)  // 51 values: full 16-lane blocks and a tail
        checkGradients([x]) { gelu(x) }
        let y = gelu(x)
        XCTAssertEqual(y.shape, [3, 17])
    }

    func testGeluMatchesTanhFormula() {
        let xs: [Float] = [-4, -1.5, -0.3, 0, 0.2, 1, 2.5, 6]
        let y = gelu(Tensor(xs, shape: [8])).array
        for (x, v) in zip(xs, y) {
            let d = Double(x)
            let want = 0.5 * d * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (d + 0.044715 * d * d * d)))
            XCTAssertEqual(Double(v), want, accuracy: 1e-6 + 1e-6 * abs(want), "gelu(\(x))")
        }
    }

    func testSoftmaxGradient() {
        var rng = RandomGenerator(seed: 22)
        let x = Tensor.normal([2, 3, 19], rng: &rng)
        checkGradients([x]) { softmax(x) }
        // Composed with a product so that dy varies within a row.
        let w = Tensor.normal([19], rng: &rng)
        checkGradients([x, w]) { softmax(x * w) }
    }

    func testSoftmaxRowsSumToOne() {
        var rng = RandomGenerator(seed: 23)
        let x = Tensor.normal([4, 33], std: 10, rng: &rng)
        let y = softmax(x).array
        for r in 0..<4 {
            let s = y[(r * 33)..<((r + 1) * 33)].reduce(0.0) { $0 + Double($1) }
            XCTAssertEqual(s, 1, accuracy: 1e-5)
        }
    }

    func testNoTapeEntriesWithoutGradients() {
        Tape.current.reset()
        let x = Tensor.ones([2, 5])
        _ = gelu(x)
        _ = softmax(x)
        XCTAssertEqual(Tape.current.count, 0)
        let p = Tensor.ones([2, 5], requiresGrad: true)
        withoutGrad { _ = gelu(p); _ = softmax(p) }
        XCTAssertEqual(Tape.current.count, 0)
    }
}

import Foundation
