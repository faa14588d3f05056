// crossEntropy: finite-difference gradients (with ignored rows), its value against a direct
// computation, the all-ignored case, and bitwise determinism of a whole small forward/backward.
import XCTest
import Foundation
import Autograd
import Kernels
import TestSupport

final class LossGradientTests: XCTestCase {
    func testCrossEntropyGradientWithIgnoredTargets() {
        var rng = RandomGenerator(seed: 41)
        let logits = Tensor.normal([2, 4, 19], std: 2, rng: &rng)
        let targets: [Int32] = [3, -1, 18, 0, -1, 7, 7, 12]
        checkGradients([logits]) { crossEntropy(logits, targets: targets) }
        let sevenIgnored: [Int32] = [3, 4, 18, 0, 7, 7, 1, 12]
        checkGradients([logits]) { crossEntropy(logits, targets: sevenIgnored, ignoreIndex: 7) }
    }

    func testCrossEntropyValue() {
        var rng = RandomGenerator(seed: 42)
        let v = 23
        let logits = Tensor.normal([5, v], std: 3, rng: &rng)
        let targets: [Int32] = [0, 22, -1, 5, 11]
        let loss = crossEntropy(logits, targets: targets)
        XCTAssertEqual(loss.shape, [])
        let x = logits.array
        var total = 0.0
        for (r, t) in targets.enumerated() where t >= 0 {
            let row = x[(r * v)..<((r + 1) * v)].map(Double.init)
            let m = row.max()!
            total += m + log(row.reduce(0) { $0 + exp($1 - m) }) - row[Int(t)]
        }
        XCTAssertEqual(Double(loss.item), total / 4, accuracy: 1e-5)
    }

    func testAllIgnoredGivesZeroAndNoGradient() {
        let logits = Tensor.ones([3, 4], requiresGrad: true)
        Tape.current.reset()
        let loss = crossEntropy(logits, targets: [-1, -1, -1])
        XCTAssertEqual(loss.item, 0)
        loss.backward()
        XCTAssertNil(logits.grad)
        XCTAssertEqual(Tape.current.count, 0)
    }

    func testUpstreamGradientScalesLogitGradient() {
        var rng = RandomGenerator(seed: 43)
        let logits = Tensor.normal([3, 9], rng: &rng, requiresGrad: true)
        Tape.current.reset()
        crossEntropy(logits, targets: [1, 2, 3]).backward()
        let g1 = logits.grad!.array
        logits.grad = nil
        (crossEntropy(logits, targets: [1, 2, 3]) * 2.5).backward()
        let g2 = logits.grad!.array
        for i in 0..<g1.count { XCTAssertEqual(g2[i], 2.5 * g1[i], accuracy: 1e-6) }
        // Each row's gradient sums to zero (softmax − one-hot).
        for r in 0..<3 { XCTAssertEqual(g1[(r * 9)..<((r + 1) * 9)].reduce(0, +), 0, accuracy: 1e-6) }
    }

    /// embedding → layerNorm → gelu → softmax·dropout → crossEntropy, run twice: same bits.
    func testSmallPipelineIsBitwiseDeterministic() {
        func run() -> (Float, [[Float]]) {
            var rng = RandomGenerator(seed: 44)
            let table = Tensor.normal([50, 96], rng: &rng, requiresGrad: true)
            let w = Tensor.normal([96], mean: 1, std: 0.2, rng: &rng, requiresGrad: true)
            let b = Tensor.normal([96], std: 0.2, rng: &rng, requiresGrad: true)
            let ids: [Int32] = (0..<64).map { Int32(($0 * 7) % 50) }
            let targets: [Int32] = (0..<64).map { $0 % 5 == 0 ? -1 : Int32(($0 * 3) % 96) }
            Tape.current.reset()
            var drng = RandomGenerator(seed: 45)
            let h = gelu(layerNorm(embedding(ids, shape: [4, 16], table: table), weight: w, bias: b))
            let loss = crossEntropy(dropout(softmax(h), p: 0.1, training: true, rng: &drng) * 10, targets: targets)
            loss.backward()
            return (loss.item, [table.grad!.array, w.grad!.array, b.grad!.array])
        }
        let (l1, g1) = run(), (l2, g2) = run()
        XCTAssertEqual(l1.bitPattern, l2.bitPattern)
        for (a, b) in zip(g1, g2) { XCTAssert(zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern }) }
    }
}
