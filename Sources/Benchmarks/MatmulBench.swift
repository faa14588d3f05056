// Autodiff matmul against raw cblas_sgemm on GPT-shaped products, in the same run.
// Forward: C (M, N) = A (M, K) · B (K, N), 2·M·N·K flops. Backward: dA = dC·Bᵀ and dB = Aᵀ·dC, 4·M·N·K.
import Autograd
import Kernels

func matmulBenchmark() {
    let shapes = [(768, 128, 384), (768, 128, 512), (768, 512, 128), (16384, 384, 1152), (16384, 1536, 384)]
    print("== matmul: autodiff vs raw sgemm (GFLOP/s, median; \(Parallel.threadCount) threads) ==")
    print(pad("M×K×N", 18) + lpad("sgemm fwd", 11) + lpad("autodiff fwd", 14) + lpad("ratio", 8)
          + lpad("sgemm bwd", 11) + lpad("autodiff bwd", 14) + lpad("ratio", 8))
    for (m, k, n) in shapes {
        var rng = RandomGenerator(seed: 7)
        let a = Tensor.normal([m, k], rng: &rng, requiresGrad: true)
        let b = Tensor.normal([k, n], rng: &rng, requiresGrad: true)
        let c = Tensor(zeros: [m, n]), dc = Tensor.normal([m, n], rng: &rng)
        let da = Tensor(zeros: [m, k]), db = Tensor(zeros: [k, n])
        let flops = 2.0 * Double(m * n * k)

        let rawFwd = medianSeconds {
            sgemm(m: m, n: n, k: k, a: a.data, lda: k, b: b.data, ldb: n, c: c.data, ldc: n)
        }
        let rawBwd = medianSeconds {
            sgemm(transB: true, m: m, n: k, k: n, a: dc.data, lda: n, b: b.data, ldb: n, beta: 1, c: da.data, ldc: k)
            sgemm(transA: true, m: k, n: n, k: m, a: a.data, lda: k, b: dc.data, ldb: n, beta: 1, c: db.data, ldc: n)
        }
        let autoFwd = medianSeconds { withoutGrad { _ = matmul(a, b) } }
        // Backward through the tape: record the forward, seed the output gradient, time backward alone.
        var bwdTimes: [Double] = []
        for i in 0..<12 {
            Tape.current.reset()
            let out = matmul(a, b)
            out.grad = dc
            let t = seconds { Tape.current.runBackward() }
            if i >= 2 { bwdTimes.append(t) }
        }
        bwdTimes.sort()
        let bwd = bwdTimes[bwdTimes.count / 2]
        a.grad = nil; b.grad = nil
        let gf = { (f: Double, t: Double) in f / t / 1e9 }
        print(pad("\(m)×\(k)×\(n)", 18) + lpad(fmt(gf(flops, rawFwd)), 11) + lpad(fmt(gf(flops, autoFwd)), 14)
              + lpad(fmt(rawFwd / autoFwd, 2), 8) + lpad(fmt(gf(2 * flops, rawBwd)), 11)
              + lpad(fmt(gf(2 * flops, bwd)), 14) + lpad(fmt(rawBwd / bwd, 2), 8))
    }
    print("ratio = raw time / autodiff time (1.00 = no overhead)")
}
