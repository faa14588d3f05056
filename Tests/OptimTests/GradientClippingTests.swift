import XCTest
import Autograd
import Kernels
import NN
import Optim

final class GradientClippingTests: XCTestCase {
    func params(_ grads: [[Float]?]) -> [NamedParameter] {
        grads.enumerated().map { i, g in
            let t = Tensor.zeros([g?.count ?? 2], requiresGrad: true)
            if let g { t.grad = Tensor(g, shape: [g.count]) }
            return NamedParameter(name: "p\(i)", tensor: t, decays: true)
        }
    }

    func testGlobalNormOverAllParameters() {
        // sqrt(3² + 4² + 12²) = 13; a parameter without a gradient contributes nothing.
        XCTAssertEqual(globalGradientNorm(params([[3, 4], [12], nil])), 13)
    }

    func testClipsAboveMaxNorm() {
        let ps = params([[3, 4], [12]])
        let norm = clipGradientNorm(ps, maxNorm: 1)
        XCTAssertEqual(norm, 13)  // the norm before clipping
        // Scaled by max_norm / (norm + 1e-6), as torch.nn.utils.clip_grad_norm_.
        let c = Float(1 / (13 + 1e-6))
        XCTAssertEqual(ps[0].tensor.grad!.array, [3 * c, 4 * c])
        XCTAssertEqual(ps[1].tensor.grad!.array, [12 * c])
        XCTAssertEqual(globalGradientNorm(ps), 1, accuracy: 1e-6)
    }

    func testLeavesGradientsBelowMaxNormUntouched() {
        let ps = params([[3, 4], [12]])
        XCTAssertEqual(clipGradientNorm(ps, maxNorm: 20), 13)
        XCTAssertEqual(ps[0].tensor.grad!.array, [3, 4])
        XCTAssertEqual(ps[1].tensor.grad!.array, [12])
    }

    func testZeroMaxNormDisablesClipping() {
        let ps = params([[3, 4], [12]])
        XCTAssertEqual(clipGradientNorm(ps, maxNorm: 0), 13)
        XCTAssertEqual(ps[0].tensor.grad!.array, [3, 4])
        XCTAssertEqual(ps[1].tensor.grad!.array, [12])
    }

    func testNonFiniteNormIsReportedAndGradientsKept() {
        let ps = params([[3, .nan], [12]])
        XCTAssert(clipGradientNorm(ps, maxNorm: 1).isNaN)
        XCTAssertEqual(ps[1].tensor.grad!.array, [12])
        let inf = params([[.infinity], [1]])
        XCTAssertEqual(clipGradientNorm(inf, maxNorm: 1), .infinity)
        XCTAssertEqual(inf[1].tensor.grad!.array, [1])
    }

    func testClippingScale() {
        XCTAssertEqual(clippingScale(norm: 13, maxNorm: 1), Float(1 / (13 + 1e-6)))
        XCTAssertEqual(clippingScale(norm: 13, maxNorm: 20), 1)
        XCTAssertEqual(clippingScale(norm: 13, maxNorm: 0), 1)
        XCTAssertEqual(clippingScale(norm: .nan, maxNorm: 1), 1)
        XCTAssertEqual(clippingScale(norm: .infinity, maxNorm: 1), 1)
    }

    /// Folding the clip factor into AdamW (step(gradientScale:)) gives the same bits as clipping the
    /// gradients in place and then stepping, over several steps, for sizes off the 8-lane blocks.
    func testClipFoldedIntoAdamWMatchesClipThenStep() {
        var rng = RandomGenerator(seed: 11)
        func model() -> [NamedParameter] {
            [13, 64, 5].enumerated().map { i, n in
                let t = Tensor.zeros([n], requiresGrad: true)
                var r = RandomGenerator(seed: UInt64(i))
                r.fillNormal(t.data, count: n)
                t.grad = Tensor.zeros([n])
                return NamedParameter(name: "p\(i)", tensor: t, decays: i != 2)
            }
        }
        let a = model(), b = model()
        let optA = AdamW(parameters: a, lr: 1e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1)
        let optB = AdamW(parameters: b, lr: 1e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1)
        for _ in 0..<4 {
            for (pa, pb) in zip(a, b) {
                rng.fillNormal(pa.tensor.grad!.data, count: pa.tensor.count, std: 3)
                pb.tensor.grad!.data.update(from: pa.tensor.grad!.data, count: pa.tensor.count)
            }
            let norm = clipGradientNorm(a, maxNorm: 1)
            optA.step()
            XCTAssertEqual(globalGradientNorm(b), norm)
            optB.step(gradientScale: clippingScale(norm: norm, maxNorm: 1))
            for (pa, pb) in zip(a, b) { XCTAssertEqual(pa.tensor.array, pb.tensor.array, pa.name) }
        }
    }

    func testSumOfSquaresMatchesReferenceAndIsThreadCountIndependent() {
        let saved = Parallel.threadCount
        defer { Parallel.setThreadCount(saved) }
        var rng = RandomGenerator(seed: 5)
        // Sizes around the block and SIMD boundaries, and one large enough for many parallel blocks.
        for n in [0, 1, 7, 8, 9, 1000, sumOfSquaresBlock - 1, sumOfSquaresBlock, sumOfSquaresBlock + 3, 3_000_001] {
            let x = Tensor.normal([n], rng: &rng)
            let reference = sumOfSquaresReference(x.data, count: n)
            Parallel.setThreadCount(1)
            let one = sumOfSquares(x.data, count: n)
            Parallel.setThreadCount(2)
            let two = sumOfSquares(x.data, count: n)
            XCTAssertEqual(one, two, "n \(n): differs between 1 and 2 threads")
            XCTAssertEqual(one, reference, accuracy: 1e-12 * max(reference, 1), "n \(n)")
        }
    }
}
