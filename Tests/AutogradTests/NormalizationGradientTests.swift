// Finite-difference gradient checks of layerNorm with and without its affine parameters.
import XCTest
import Autograd
import Kernels
import TestSupport

final class NormalizationGradientTests: XCTestCase {
    func testLayerNormAffineGradient() {
        var rng = RandomGenerator(seed: 31)
        let x = Tensor.normal([2, 3, 19], mean: 0.5, std: 1.5, rng: &rng)
        let w = Tensor.normal([19], mean: 1, std: 0.3, rng: &rng)
        let b = Tensor.normal([19], std: 0.3, rng: &rng)
        checkGradients([x, w, b]) { layerNorm(x, weight: w, bias: b) }
    }

    func testLayerNormPartialAndNoAffineGradient() {
        var rng = RandomGenerator(seed: 32)
        let x = Tensor.normal([5, 8], rng: &rng)
        let w = Tensor.normal([8], mean: 1, std: 0.3, rng: &rng)
        let b = Tensor.normal([8], std: 0.3, rng: &rng)
        checkGradients([x]) { layerNorm(x, weight: nil, bias: nil) }
        checkGradients([x, w]) { layerNorm(x, weight: w, bias: nil) }
        checkGradients([x, b]) { layerNorm(x, weight: nil, bias: b) }
    }

    func testLayerNormParametersOnlyWhenInputIsConstant() {
        var rng = RandomGenerator(seed: 33)
        let x = Tensor.normal([4, 6], rng: &rng)
        let w = Tensor.normal([6], mean: 1, std: 0.3, rng: &rng), b = Tensor.normal([6], rng: &rng)
        checkGradients([w, b]) { layerNorm(x, weight: w, bias: b) }
        XCTAssertNil(x.grad, "a constant input must not receive a gradient")
    }

    func testLayerNormOutputIsNormalised() {
        var rng = RandomGenerator(seed: 34)
        let x = Tensor.normal([3, 64], mean: 5, std: 3, rng: &rng)
        let y = layerNorm(x, weight: nil, bias: nil).array
        for r in 0..<3 {
            let row = y[(r * 64)..<((r + 1) * 64)].map(Double.init)
            let m = row.reduce(0, +) / 64
            let v = row.reduce(0) { $0 + ($1 - m) * ($1 - m) } / 64
            XCTAssertEqual(m, 0, accuracy: 1e-6)
            XCTAssertEqual(v, 1, accuracy: 1e-4)  // eps = 1e-5 shrinks it by ~1e-5/9
        }
    }
}
