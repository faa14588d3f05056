// Who should thread a matrix product: the GPT-shaped products of the CPU recipe and of GPT-2 timed on
// one thread, on OpenBLAS's own threads, and split over our threads with single-threaded OpenBLAS
// inside (what Kernels.sgemm does above sgemmSplitMinimumMNK), in the same run.
import Foundation
import Kernels

func gemmThreadsBenchmark(_ options: BenchOptions) {
    let threads = max(2, options.threads)
    // (M, N, K, transA, transB, what): forward x·Wᵀ, backward dx = dy·W and dW = dyᵀ·x.
    let shapes: [(Int, Int, Int, Bool, Bool, String)] = [
        (768, 384, 128, false, true, "CPU c_attn fwd"), (768, 128, 384, false, false, "CPU c_attn dx"),
        (384, 128, 768, true, false, "CPU c_attn dW"), (768, 128, 128, false, true, "CPU attn c_proj fwd"),
        (768, 512, 128, false, true, "CPU c_fc fwd"), (768, 128, 512, false, true, "CPU mlp c_proj fwd"),
        (512, 128, 768, true, false, "CPU c_fc dW"), (768, 65, 128, false, true, "CPU lm head fwd"),
        (65, 128, 768, true, false, "CPU lm head dW"),
        (16384, 1152, 384, false, true, "baby c_attn fwd"), (256, 2304, 768, false, true, "GPT-2 4×64 c_attn fwd"),
        (256, 50257, 768, false, true, "GPT-2 4×64 lm head"),
    ]
    print("== sgemm threading: 1 thread vs OpenBLAS on \(threads) vs our \(threads)-way split (GFLOP/s, median) ==")
    print(pad("M×N×K", 18) + pad("  product", 24) + lpad("1 thread", 10) + lpad("OpenBLAS", 10) + lpad("split", 8)
          + lpad("best", 10))
    for (m, n, k, ta, tb, what) in shapes {
        let a = allocateAligned(m * k), b = allocateAligned(k * n), c = allocateAligned(m * n)
        defer { deallocateAligned(a); deallocateAligned(b); deallocateAligned(c) }
        var rng = RandomGenerator(seed: 1)
        rng.fillNormal(a, count: m * k); rng.fillNormal(b, count: k * n)
        let lda = ta ? m : k, ldb = tb ? k : n
        let run = { sgemm(transA: ta, transB: tb, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: n) }
        let flops = 2.0 * Double(m * n * k)
        Parallel.setGemmUsesBLASThreads(false)
        Parallel.setThreadCount(1)
        let one = flops / medianSeconds(run) / 1e9
        Parallel.setThreadCount(threads)
        let saved = sgemmSplitMinimumMNK
        sgemmSplitMinimumMNK = 1
        let split = flops / medianSeconds(run) / 1e9
        sgemmSplitMinimumMNK = saved
        // OpenBLAS's own threads last: after a threaded call they keep polling for work for a while,
        // which would take a core from whatever is timed next.
        Parallel.setGemmUsesBLASThreads(true)
        let blas = flops / medianSeconds(run) / 1e9
        Parallel.setGemmUsesBLASThreads(false)
        Thread.sleep(forTimeInterval: 0.3)  // let them go idle before the next shape
        let best = [(one, "1 thread"), (blas, "OpenBLAS"), (split, "split")].max { $0.0 < $1.0 }!.1
        print(pad("\(m)×\(n)×\(k)", 18) + pad("  " + what, 24) + lpad(fmt(one), 10) + lpad(fmt(blas), 10)
              + lpad(fmt(split), 8) + lpad(best, 10))
    }
    Parallel.setThreadCount(options.threads)
    print("sgemm splits products with M·N·K ≥ \(sgemmSplitMinimumMNK) over \(options.threads) threads")
    print("")
    linearBackwardPairBenchmark(threads: threads)
    Parallel.setThreadCount(options.threads)
}

/// A linear layer's backward, dx = dy·W then dW += dyᵀ·x: each product split over all threads in
/// turn (two fork-joins), against both at once with the threads shared between them (`sgemmPair`).
private func linearBackwardPairBenchmark(threads: Int) {
    // (rows, out, in, what)
    let layers: [(Int, Int, Int, String)] = [
        (768, 384, 128, "CPU c_attn"), (768, 128, 128, "CPU attn c_proj"), (768, 512, 128, "CPU c_fc"),
        (768, 128, 512, "CPU mlp c_proj"), (768, 65, 128, "CPU lm head"), (256, 2304, 768, "GPT-2 4×64 c_attn"),
    ]
    print("== linear backward on \(threads) threads: dx and dW split in turn vs as a pair (µs, median) ==")
    print(pad("rows×out×in", 18) + pad("  layer", 22) + lpad("in turn", 10) + lpad("pair", 10) + lpad("speed-up", 10))
    Parallel.setThreadCount(threads)
    for (rows, outF, inF, what) in layers {
        let dy = allocateAligned(rows * outF), x = allocateAligned(rows * inF), w = allocateAligned(outF * inF)
        let dx = allocateAligned(rows * inF), dw = allocateAligned(outF * inF)
        defer { [dy, x, w, dx, dw].forEach { deallocateAligned($0) } }
        var rng = RandomGenerator(seed: 2)
        rng.fillNormal(dy, count: rows * outF)
        rng.fillNormal(x, count: rows * inF)
        rng.fillNormal(w, count: outF * inF)
        let dxProduct = MatrixProduct(m: rows, n: inF, k: outF, a: dy, lda: outF, b: w, ldb: inF, c: dx, ldc: inF)
        let dwProduct = MatrixProduct(transA: true, m: outF, n: inF, k: rows, a: dy, lda: outF, b: x, ldb: inF,
                                      beta: 1, c: dw, ldc: inF)
        var inTurn: [Double] = [], paired: [Double] = []
        // Alternating, so that drift in the machine's speed affects both alike.
        for _ in 0..<3 { sgemm(dxProduct); sgemm(dwProduct); sgemmPair(dxProduct, dwProduct) }
        for _ in 0..<101 {
            inTurn.append(seconds { sgemm(dxProduct); sgemm(dwProduct) })
            paired.append(seconds { sgemmPair(dxProduct, dwProduct) })
        }
        inTurn.sort(); paired.sort()
        let a = inTurn[50] * 1e6, b = paired[50] * 1e6
        print(pad("\(rows)×\(outF)×\(inF)", 18) + pad("  " + what, 22) + lpad(fmt(a), 10) + lpad(fmt(b), 10)
              + lpad(fmt(a / b, 2) + "×", 10))
    }
}
