// Bandwidth of the element-wise kernels beside a plain memcpy of the same bytes, in the same run.
// Bytes counted = bytes read + bytes written by the kernel (memcpy: its source + destination).
import Foundation
import Kernels

func elementwiseBenchmark() {
    let rows = 16_384, c = 768, n = rows * c  // 12.6M floats: 50 MB per buffer, far beyond the caches
    let a = allocateAligned(n), b = allocateAligned(n), out = allocateAligned(n)
    let m = allocateAligned(n), v = allocateAligned(n)
    let mean = allocateAligned(rows), rstd = allocateAligned(rows)
    let w = allocateAligned(c), bias = allocateAligned(c)
    defer { for p in [a, b, out, m, v, mean, rstd, w, bias] { deallocateAligned(p) } }
    var rng = RandomGenerator(seed: 3)
    rng.fillNormal(a, count: n); rng.fillNormal(b, count: n, std: 0.01)
    rng.fillNormal(w, count: c); rng.fillNormal(bias, count: c)
    let fb = Double(MemoryLayout<Float>.size)

    func gbps(_ bytes: Double, _ t: Double) -> Double { bytes / t / 1e9 }
    // memcpy over the same number of bytes each kernel moves (split into copies of `n` floats).
    let copyTime = medianSeconds { memcpy(out, a, n * 4) }
    let copyGBps = gbps(2 * Double(n) * fb, copyTime)
    print("== element-wise kernels vs memcpy (GB/s, median; \(Parallel.threadCount) threads; \(rows)×\(c) floats) ==")
    print(pad("kernel", 26) + lpad("GB/s", 8) + lpad("memcpy", 9) + lpad("ratio", 8))
    print(pad("memcpy", 26) + lpad(fmt(copyGBps), 8) + lpad(fmt(copyGBps), 9) + lpad("1.00", 8))
    func row(_ name: String, bytes: Double, _ body: () -> Void) {
        let t = medianSeconds(body)
        let g = gbps(bytes, t)
        print(pad(name, 26) + lpad(fmt(g), 8) + lpad(fmt(copyGBps), 9) + lpad(fmt(g / copyGBps, 2), 8))
    }
    row("gelu forward", bytes: 2 * Double(n) * fb) { geluForward(out, a, count: n) }
    // Training forward: reads x, writes gelu(x) and gelu'(x); backward reads gelu', dout, writes dx.
    row("gelu forward + gelu'", bytes: 3 * Double(n) * fb) { geluForward(out, derivative: m, a, count: n) }
    row("gelu backward", bytes: 3 * Double(n) * fb) { geluBackward(out, derivative: m, b, count: n, accumulate: false) }
    row("layer norm forward", bytes: 2 * Double(n) * fb) {
        layerNormForward(out, mean: mean, rstd: rstd, a, weight: w, bias: bias, rows: rows, channels: c)
    }
    row("softmax forward", bytes: 2 * Double(n) * fb) { softmaxForward(out, a, rows: rows, cols: c) }
    // AdamW reads param, grad, m, v and writes param, m, v: 7 floats per element.
    var step = 0
    row("AdamW update", bytes: 7 * Double(n) * fb) {
        step += 1
        adamWUpdate(out, m, v, b, count: n, lr: 1e-3, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, step: step)
    }
    print("ratio = kernel GB/s / memcpy GB/s (goal ≥ 0.50)")
}
