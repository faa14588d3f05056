import XCTest
import Autograd
import Kernels
import TestSupport

final class MatmulGradientTests: XCTestCase {
    func check(_ inputs: [Tensor], _ fn: () -> Tensor, file: StaticString = #filePath, line: UInt = #line) {
        let r = gradientCheck(inputs: inputs, fn)
        XCTAssert(r.failures.isEmpty, "\(r.failures.count) gradient mismatches, first: \(r.failures.prefix(3))", file: file, line: line)
    }

    func testMatmul2DAllTransposes() {
        var rng = RandomGenerator(seed: 1)
        for ta in [false, true] { for tb in [false, true] {
            let a = Tensor.normal(ta ? [4, 3] : [3, 4], rng: &rng)
            let b = Tensor.normal(tb ? [5, 4] : [4, 5], rng: &rng)
            check([a, b]) { matmul(a, b, transA: ta, transB: tb) }
        } }
    }

    func testBatchedMatmulAllTransposes() {
        var rng = RandomGenerator(seed: 2)
        for ta in [false, true] { for tb in [false, true] {
            let a = Tensor.normal(ta ? [2, 3, 4, 3] : [2, 3, 3, 4], rng: &rng)
            let b = Tensor.normal(tb ? [2, 3, 5, 4] : [2, 3, 4, 5], rng: &rng)
            check([a, b]) { matmul(a, b, transA: ta, transB: tb) }
            let shared = Tensor.normal(tb ? [5, 4] : [4, 5], rng: &rng)
            check([a, shared]) { matmul(a, shared, transA: ta, transB: tb) }
        } }
    }

    func testLinearWithAndWithoutBias() {
        var rng = RandomGenerator(seed: 3)
        let x = Tensor.normal([2, 3, 6], rng: &rng)
        let w = Tensor.normal([5, 6], rng: &rng)
        let b = Tensor.normal([5], rng: &rng)
        check([x, w, b]) { linear(x, weight: w, bias: b) }
        check([x, w]) { linear(x, weight: w) }
    }

    func testArithmeticBroadcasts() {
        var rng = RandomGenerator(seed: 4)
        let a = Tensor.normal([3, 4], rng: &rng), b = Tensor.normal([3, 4], rng: &rng)
        let v = Tensor.normal([4], rng: &rng), s = Tensor.normal([1], rng: &rng)
        check([a, b]) { a + b }
        check([a, b]) { a - b }
        check([a, b]) { a * b }
        check([a, v]) { a + v }
        check([a, v]) { a - v }
        check([a, v]) { a * v }
        check([a, s]) { a * s }
        check([a]) { (a * 3 + 1.5) / 2 - 0.5 }
        check([a]) { mean(a.reshaped([4, 3]) * a.reshaped([4, 3])) }
    }
}
