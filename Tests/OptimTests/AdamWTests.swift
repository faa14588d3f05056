import XCTest
import Autograd
import Kernels
import NN
import Optim
import TestSupport

final class AdamWTests: XCTestCase {
    /// Tests/Fixtures/adamw.json (scripts/make_fixtures.py, make_adamw, torch.manual_seed(42)):
    /// torch.optim.AdamW(foreach=False) in float32, three steps per scenario, constant and scheduled lr.
    func testMatchesTorchAdamWFixture() throws {
        let fixture = try Fixtures.load("adamw.json")
        let initial = try XCTUnwrap(fixture["initial"] as? [String: Any])
        let scenarios = try XCTUnwrap(fixture["scenarios"] as? [[String: Any]])
        XCTAssertEqual(scenarios.count, 2)
        var worst: Double = 0
        for scenario in scenarios {
            let label = scenario["name"] as? String ?? "?"
            let decays = try XCTUnwrap(scenario["weight_decay"] as? [String: Double])
            let names = initial.keys.sorted()
            // One weight-decay value for the decayed parameters, 0 for the rest (nanoGPT's two groups).
            let decayValues = Set(decays.values.filter { $0 != 0 })
            XCTAssertEqual(decayValues.count, 1)
            let params = names.map { name -> NamedParameter in
                let spec = initial[name] as! [String: Any]
                let t = Tensor(Fixtures.floats(spec["data"]), shape: Fixtures.ints(spec["shape"]), requiresGrad: true)
                return NamedParameter(name: name, tensor: t, decays: decays[name]! != 0)
            }
            // betas/eps are Python floats; read them as Double (0.99 as a Float would not round-trip).
            let betaList = try XCTUnwrap(scenario["betas"] as? [Double])
            XCTAssertEqual(betaList.count, 2)
            let opt = AdamW(parameters: params, lr: 0, beta1: betaList[0], beta2: betaList[1],
                            eps: try XCTUnwrap(scenario["eps"] as? Double), weightDecay: decayValues.first!)
            let lrs = try XCTUnwrap(scenario["lrs"] as? [Double])
            let grads = try XCTUnwrap(scenario["grads"] as? [[String: Any]])
            let after = try XCTUnwrap(scenario["after"] as? [[String: Any]])
            for (s, lr) in lrs.enumerated() {
                opt.lr = lr
                for p in params {
                    let g = Fixtures.floats(grads[s][p.name])
                    p.tensor.grad = Tensor(g, shape: p.tensor.shape)
                }
                opt.step()
                XCTAssertEqual(opt.stepCount, s + 1)
                for p in params {
                    let expected = Fixtures.floats(after[s][p.name])
                    let r = compareClose(p.tensor.array, expected, rtol: 0, atol: 1e-6,
                                         name: "\(label) step \(s + 1) \(p.name)")
                    XCTAssert(r.ok, r.message)
                    for (a, e) in zip(p.tensor.array, expected) { worst = max(worst, Double(abs(a - e))) }
                }
            }
        }
        print("AdamW vs torch fixture: max |diff| \(worst)")
    }

    /// The fused kernel against the Double reference, over several hyper-parameter settings (including
    /// beta1 < 0.5, which takes the other branch of torch's lerp) and many steps.
    func testKernelMatchesReference() {
        let settings: [(lr: Double, b1: Double, b2: Double, eps: Double, wd: Double)] = [
            (1e-3, 0.9, 0.999, 1e-8,
             0.01), (1e-2, 0.9, 0.95, 1e-8, 0.1), (3e-3, 0.3, 0.99, 1e-6, 0), (0.1, 0, 0.5, 1e-3, 0.5),
        ]
        let n = 1000
        for (k, h) in settings.enumerated() {
            var rng = RandomGenerator(seed: UInt64(10 + k))
            let p = Tensor.normal([n], rng: &rng)
            let pRef = p.copy()
            let m = Tensor.zeros([n]), v = Tensor.zeros([n]), mRef = Tensor.zeros([n]), vRef = Tensor.zeros([n])
            for step in 1...20 {
                let g = Tensor.normal([n], std: 0.5, rng: &rng)
                adamWUpdate(p.data, m.data, v.data, g.data, count: n, lr: h.lr, beta1: h.b1, beta2: h.b2, eps: h.eps,
                            weightDecay: h.wd, step: step)
                adamWUpdateReference(pRef.data, mRef.data, vRef.data, g.data, count: n, lr: h.lr, beta1: h.b1,
                                     beta2: h.b2, eps: h.eps, weightDecay: h.wd, step: step)
                for (name, a, e) in [("param", p, pRef), ("exp_avg", m, mRef), ("exp_avg_sq", v, vRef)] {
                    let r = compareClose(a.array, e.array, rtol: 1e-5, atol: 1e-7,
                                         name: "setting \(k) step \(step) \(name)")
                    XCTAssert(r.ok, r.message)
                }
                // Keep the two trajectories from drifting apart through accumulated rounding.
                pRef.data.update(from: p.data, count: n)
                mRef.data.update(from: m.data, count: n)
                vRef.data.update(from: v.data, count: n)
            }
        }
    }

    /// Same bits at 1 and 2 threads for a parameter large enough to be split into chunks (an odd
    /// count, so the second chunk starts off the 8-lane grid).
    func testKernelIsDeterministicAcrossThreadCounts() {
        let n = (1 << 19) + 3
        var rng = RandomGenerator(seed: 7)
        let p0 = Tensor.normal([n], rng: &rng), g = Tensor.normal([n], rng: &rng)
        let saved = Parallel.threadCount
        defer { Parallel.setThreadCount(saved) }
        var results: [[Float]] = []
        for threads in [1, 2] {
            Parallel.setThreadCount(threads)
            let p = p0.copy(), m = Tensor.zeros([n]), v = Tensor.zeros([n])
            for step in 1...3 {
                adamWUpdate(p.data, m.data, v.data, g.data, count: n, lr: 1e-3, beta1: 0.9, beta2: 0.99, eps: 1e-8,
                            weightDecay: 0.1, step: step)
            }
            results.append(p.array + m.array + v.array)
        }
        XCTAssert(results[0] == results[1], "AdamW update differs between 1 and 2 threads")
    }

    /// The one-pass update over several parameters (split across threads at any point, also inside a
    /// parameter) gives the bits of updating each parameter on its own, at 1, 2 and 3 threads.
    func testMultiParameterPassMatchesPerParameterUpdates() {
        let sizes = [5, 40_000, 17, 131_072, 3, 90_001]
        var rng = RandomGenerator(seed: 9)
        let params = sizes.map { Tensor.normal([$0], rng: &rng) }, grads = sizes.map { Tensor.normal([$0], rng: &rng) }
        let decays = sizes.indices.map { $0 % 2 == 0 ? 0.1 : 0 }
        func run(_ threads: Int, together: Bool) -> [Float] {
            let saved = Parallel.threadCount
            defer { Parallel.setThreadCount(saved) }
            Parallel.setThreadCount(threads)
            let p = params.map { $0.copy() }, m = sizes.map { Tensor.zeros([$0]) }, v = sizes.map { Tensor.zeros([$0]) }
            for step in 1...3 {
                if together {
                    let buffers = sizes.indices.map {
                        AdamWBuffers(param: p[$0].data, m: m[$0].data, v: v[$0].data, grad: grads[$0].data,
                                     count: sizes[$0], weightDecay: decays[$0])
                    }
                    adamWUpdate(buffers, lr: 1e-3, beta1: 0.9, beta2: 0.99, eps: 1e-8, step: step, gradScale: 0.5)
                } else {
                    for i in sizes.indices {
                        adamWUpdate(p[i].data, m[i].data, v[i].data, grads[i].data, count: sizes[i], lr: 1e-3,
                                    beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: decays[i], step: step,
                                    gradScale: 0.5)
                    }
                }
            }
            return (p + m + v).flatMap(\.array)
        }
        let want = run(1, together: false).map(\.bitPattern)
        for threads in [1, 2, 3] {
            XCTAssertEqual(run(threads, together: true).map(\.bitPattern), want, "\(threads) threads")
        }
    }

    /// The 8-lane loop and the one-by-one remainder loop give the same bits for every element.
    func testVectorAndScalarPathsAgreeBitwise() {
        let n = 37
        var rng = RandomGenerator(seed: 8)
        for beta1 in [0.9, 0.2] {  // both branches of torch's lerp
            let p0 = Tensor.normal([n], rng: &rng), m0 = Tensor.normal([n], std: 0.1, rng: &rng)
            let v0 = Tensor.uniform([n], low: 0, high: 0.01, rng: &rng), g = Tensor.normal([n], rng: &rng)
            let (p, m, v) = (p0.copy(), m0.copy(), v0.copy())
            adamWUpdate(p.data, m.data, v.data, g.data, count: n, lr: 3e-3, beta1: beta1, beta2: 0.95, eps: 1e-8,
                        weightDecay: 0.1, step: 4)
            for i in 0..<n {
                adamWUpdate(p0.data + i, m0.data + i, v0.data + i, g.data + i, count: 1, lr: 3e-3, beta1: beta1,
                            beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: 4)
            }
            XCTAssertEqual(p.array.map(\.bitPattern), p0.array.map(\.bitPattern), "param, beta1 \(beta1)")
            XCTAssertEqual(m.array.map(\.bitPattern), m0.array.map(\.bitPattern), "exp_avg, beta1 \(beta1)")
            XCTAssertEqual(v.array.map(\.bitPattern), v0.array.map(\.bitPattern), "exp_avg_sq, beta1 \(beta1)")
        }
    }

    /// fusedMultiplyAdd rounds once, like an FMA instruction (it can differ only with probability
    /// ~2^-29 per value, so 100k random triples agree).
    func testFusedMultiplyAddMatchesFMA() {
        var rng = RandomGenerator(seed: 12)
        var differ = 0
        for _ in 0..<100_000 {
            let a = rng.nextNormal(), b = rng.nextNormal(), c = rng.nextNormal() * 1e-3
            if fusedMultiplyAdd(a, b, c) != c.addingProduct(a, b) { differ += 1 }
        }
        XCTAssertEqual(differ, 0)
        // A case where a separate multiply and add round differently from a fused one.
        let x: Float = 1 + .ulpOfOne, y: Float = 1 - .ulpOfOne
        XCTAssertEqual(fusedMultiplyAdd(x, y, -1), -(Float.ulpOfOne * Float.ulpOfOne))
        XCTAssertEqual(x * y - 1, 0)
    }

    func testWeightDecayOnlyWhereParameterDecays() {
        // Zero gradient: the moments stay 0, so the Adam term is 0/(0 + eps) = 0 and only decay acts.
        let w = Tensor([1, -2, 3, -4], shape: [2, 2], requiresGrad: true)
        let b = Tensor([1, -2], shape: [2], requiresGrad: true)
        w.grad = Tensor.zeros([2, 2])
        b.grad = Tensor.zeros([2])
        let opt = AdamW(parameters: [NamedParameter(name: "w", tensor: w, decays: true),
                                     NamedParameter(name: "b", tensor: b, decays: false)],
                        lr: 0.1, weightDecay: 0.5)
        opt.step()
        let factor = Float(1 - 0.1 * 0.5)  // param *= 1 - lr·wd
        XCTAssertEqual(w.array, [1, -2, 3, -4].map { $0 * factor })
        XCTAssertEqual(b.array, [1, -2])
    }

    func testFirstStepMovesEachElementByLearningRate() {
        // At t = 1, m̂ = g and v̂ = g², so the update is -lr·g/(|g| + eps) ≈ -lr·sign(g).
        let p = Tensor([0, 0, 0], shape: [3], requiresGrad: true)
        p.grad = Tensor([2, -0.5, 1e-3], shape: [3])
        let opt = AdamW(parameters: [NamedParameter(name: "p", tensor: p, decays: true)], lr: 0.01, weightDecay: 0.1)
        opt.step()
        let r = compareClose(p.array, [-0.01, 0.01, -0.01], rtol: 1e-4, atol: 0, name: "p")
        XCTAssert(r.ok, r.message)
    }

    func testParameterWithoutGradientIsSkipped() {
        let a = Tensor([1, 2], shape: [2], requiresGrad: true)
        let b = Tensor([3, 4], shape: [2], requiresGrad: true)
        a.grad = Tensor([1, 1], shape: [2])
        let opt = AdamW(parameters: [NamedParameter(name: "a", tensor: a, decays: true),
                                     NamedParameter(name: "b", tensor: b, decays: true)], lr: 0.1)
        opt.step()
        XCTAssertNotEqual(a.array, [1, 2])
        XCTAssertEqual(b.array, [3, 4])
        XCTAssertEqual(opt.expAvgSq[1].array, [0, 0])
    }

    func testZeroGradKeepsBuffers() {
        let a = Tensor([1, 2], shape: [2], requiresGrad: true)
        a.grad = Tensor([5, 6], shape: [2])
        let g = a.grad!
        let opt = AdamW(parameters: [NamedParameter(name: "a", tensor: a, decays: false)])
        opt.zeroGrad()
        XCTAssert(a.grad === g)
        XCTAssertEqual(a.grad!.array, [0, 0])
    }

    /// Exporting the state and importing it into a fresh optimiser continues the same trajectory.
    func testStateExportImportResumesBitwise() throws {
        func makeParams() -> [NamedParameter] {
            var rng = RandomGenerator(seed: 99)
            return [NamedParameter(name: "w", tensor: Tensor.normal([4, 3], rng: &rng, requiresGrad: true),
                                   decays: true),
                    NamedParameter(name: "b", tensor: Tensor.normal([3], rng: &rng, requiresGrad: true), decays: false)]
        }
        func grads(_ step: Int, _ params: [NamedParameter]) {
            var rng = RandomGenerator(seed: UInt64(1000 + step))
            for p in params { p.tensor.grad = Tensor.normal(p.tensor.shape, rng: &rng) }
        }
        let straight = makeParams()
        let a = AdamW(parameters: straight, lr: 1e-2, beta2: 0.99, weightDecay: 0.1)
        for s in 0..<6 { grads(s, straight); a.step() }

        let first = makeParams()
        let b = AdamW(parameters: first, lr: 1e-2, beta2: 0.99, weightDecay: 0.1)
        for s in 0..<3 { grads(s, first); b.step() }
        XCTAssertEqual(b.stateTensors.map(\.name), ["w.exp_avg", "w.exp_avg_sq", "b.exp_avg", "b.exp_avg_sq"])
        var saved: [String: Tensor] = [:]
        for (name, t) in b.stateTensors { saved[name] = t.copy() }
        let savedWeights = first.map { $0.tensor.copy() }

        let second = makeParams()
        for (p, w) in zip(second, savedWeights) { p.tensor.data.update(from: w.data, count: w.count) }
        let c = AdamW(parameters: second, lr: 1e-2, beta2: 0.99, weightDecay: 0.1)
        try c.loadState(step: b.stepCount, tensors: saved)
        XCTAssertEqual(c.stepCount, 3)
        for s in 3..<6 { grads(s, second); c.step() }
        for (x, y) in zip(straight, second) { XCTAssertEqual(x.tensor.array, y.tensor.array, x.name) }
        for (x, y) in zip(a.stateTensors, c.stateTensors) { XCTAssertEqual(x.tensor.array, y.tensor.array, x.name) }
    }

    func testLoadStateRejectsMismatchesAndChangesNothing() {
        let w = Tensor.zeros([2, 3], requiresGrad: true)
        let opt = AdamW(parameters: [NamedParameter(name: "w", tensor: w, decays: true)])
        let good = ["w.exp_avg": Tensor.ones([2, 3]), "w.exp_avg_sq": Tensor.ones([2, 3])]
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "no error" } catch { return "\(error)" }
        }
        XCTAssertEqual(message { try opt.loadState(step: 1, tensors: ["w.exp_avg": Tensor.ones([2, 3])]) },
                       "optimizer state: missing tensor \"w.exp_avg_sq\"")
        let transposed = ["w.exp_avg": Tensor.ones([3, 2]), "w.exp_avg_sq": Tensor.ones([2, 3])]
        XCTAssertEqual(message { try opt.loadState(step: 1, tensors: transposed) },
                       "optimizer state: tensor \"w.exp_avg\" has shape [3, 2], expected [2, 3]")
        var extra = good
        extra["v.exp_avg"] = Tensor.ones([1])
        XCTAssertEqual(message { try opt.loadState(step: 1, tensors: extra) },
                       "optimizer state: unexpected tensor \"v.exp_avg\" (no parameter of that name)")
        XCTAssertEqual(message { try opt.loadState(step: -1, tensors: good) },
                       "optimizer state: step must be >= 0, got -1")
        XCTAssertEqual(opt.stepCount, 0)
        XCTAssertEqual(opt.expAvg[0].array, [Float](repeating: 0, count: 6))
        XCTAssertEqual(message { try opt.loadState(step: 4, tensors: good) }, "no error")
        XCTAssertEqual(opt.stepCount, 4)
        XCTAssertEqual(opt.expAvgSq[0].array, [Float](repeating: 1, count: 6))
    }
}
