import XCTest
import Autograd
import Kernels
import TestSupport

final class MatmulGradientTests: XCTestCase {
    func testMatmul2DAllTransposes() {
        var rng = RandomGenerator(seed: 1)
        for ta in [false, true] { for tb in [false, true] {
            let a = Tensor.normal(ta ? [4, 3] : [3, 4], rng: &rng)
            let b = Tensor.normal(tb ? [5, 4] : [4, 5], rng: &rng)
            checkGradients([a, b]) { matmul(a, b, transA: ta, transB: tb) }
        } }
    }

    func testBatchedMatmulAllTransposes() {
        var rng = RandomGenerator(seed: 2)
        for ta in [false, true] { for tb in [false, true] {
            let a = Tensor.normal(ta ? [2, 3, 4, 3] : [2, 3, 3, 4], rng: &rng)
            let b = Tensor.normal(tb ? [2, 3, 5, 4] : [2, 3, 4, 5], rng: &rng)
            checkGradients([a, b]) { matmul(a, b, transA: ta, transB: tb) }
            let shared = Tensor.normal(tb ? [5, 4] : [4, 5], rng: &rng)
            checkGradients([a, shared]) { matmul(a, shared, transA: ta, transB: tb) }
        } }
    }

    func testLinearWithAndWithoutBias() {
        var rng = RandomGenerator(seed: 3)
        let x = Tensor.normal([2, 3, 6], rng: &rng)
        let w = Tensor.normal([5, 6], rng: &rng)
        let b = Tensor.normal([5], rng: &rng)
        checkGradients([x, w, b]) { linear(x, weight: w, bias: b) }
        checkGradients([x, w]) { linear(x, weight: w) }
    }

    func testLinearWithResidualAndLinearGELU() {
        var rng = RandomGenerator(seed: 5)
        let x = Tensor.normal([2, 3, 6], rng: &rng)
        let w = Tensor.normal([5, 6], rng: &rng)
        let b = Tensor.normal([5], rng: &rng)
        let r = Tensor.normal([2, 3, 5], rng: &rng)
        checkGradients([x, w, b, r]) { linear(x, weight: w, bias: b, residual: r) }
        checkGradients([x, w, r]) { linear(x, weight: w, residual: r) }
        // A residual that is also the input of a later op: its gradient gathers both paths.
        let sq = Tensor.normal([2, 3, 6], rng: &rng), v = Tensor.normal([6, 6], rng: &rng)
        checkGradients([sq, v]) { linear(sq, weight: v, residual: sq) * sq }
        checkGradients([x, w, b]) { linearGELU(x, weight: w, bias: b) }
        checkGradients([x, w]) { linearGELU(x, weight: w) }
    }

    /// The fused ops give the bits of the ops they replace, forward and backward (gradients of
    /// inputs an op does not use stay nil on both sides).
    func testFusedLinearOpsMatchTheirCompositions() {
        var rng = RandomGenerator(seed: 6)
        let x = Tensor.normal([4, 8, 16], rng: &rng), w = Tensor.normal([24, 16], rng: &rng)
        let b = Tensor.normal([24], rng: &rng), r = Tensor.normal([4, 8, 24], rng: &rng)
        let seedGrad = Tensor.normal([4, 8, 24], rng: &rng)
        func run(_ fn: () -> Tensor) -> [[Float]] {
            for t in [x, w, b, r] { t.grad = nil; t.requiresGrad = true }
            Tape.current.reset()
            let y = fn()
            y.grad = seedGrad.copy()
            Tape.current.runBackward()
            return [y.array] + [x, w, b, r].map { $0.grad?.array ?? [] }
        }
        XCTAssertEqual(run { linearGELU(x, weight: w, bias: b) }, run { gelu(linear(x, weight: w, bias: b)) })
        // Without a bias the residual is the product's only addend, so the sum rounds the same way
        // (with one, r + b is formed first: equal up to rounding, as the gradient check tests).
        XCTAssertEqual(run { linear(x, weight: w, residual: r) }, run { r + linear(x, weight: w) })
    }

    func testArithmeticBroadcasts() {
        var rng = RandomGenerator(seed: 4)
        let a = Tensor.normal([3, 4], rng: &rng), b = Tensor.normal([3, 4], rng: &rng)
        let v = Tensor.normal([4], rng: &rng), s = Tensor.normal([1], rng: &rng)
        checkGradients([a, b]) { a + b }
        checkGradients([a, b]) { a - b }
        checkGradients([a, b]) { a * b }
        checkGradients([a, v]) { a + v }
        checkGradients([a, v]) { a - v }
        checkGradients([a, v]) { a * v }
        checkGradients([a, s]) { a * s }
        checkGradients([a]) { (a * 3 + 1.5) / 2 - 0.5 }
        checkGradients([a]) { mean(a.reshaped([4, 3]) * a.reshaped([4, 3])) }
    }
}
