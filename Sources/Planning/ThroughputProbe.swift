// Measures, on this machine and at the moment, what the step-time estimate needs: sgemm on a model's
// own products and the attention kernels at the configured thread count, and memcpy bandwidth. The whole probe takes
// well under two seconds: each product is timed a few times (median), and one whose full size would
// take long is timed on a slice of its rows (and, for a vocabulary-wide head, of its columns) and
// scaled by FLOPs — sgemm throughput is flat in M and N beyond a few hundred. Whatever the config asks
// for, no timed kernel's buffers exceed `probeFloats` (128 MiB): a product whose inner dimension alone
// would is also sliced along K, and attention over a long context or wide heads is timed on a shorter
// context (and narrower heads) and scaled by T²·hs.
import Foundation
import Kernels

/// C (M, N) = A (M, K) · Bᵀ (N, K), stored as `linear` stores its weights, made `calls` times per
/// forward pass of one micro-batch.
public struct GemmShape: Equatable, Sendable {
    public var name: String
    public var m: Int, n: Int, k: Int
    public var calls: Int

    public init(_ name: String, m: Int, n: Int, k: Int, calls: Int = 1) {
        self.name = name; self.m = m; self.n = n; self.k = k; self.calls = calls
    }

    /// FLOPs of all `calls` products.
    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) * Double(calls) }
}

/// One shape's measured time: `seconds` covers all its calls at full size.
public struct GemmTiming: Sendable {
    public var shape: GemmShape
    public var seconds: Double
    /// The product actually timed (smaller than the shape when it was sliced).
    public var probeM: Int, probeN: Int
    public var gflops: Double { shape.flops / seconds / 1e9 }

    public init(shape: GemmShape, seconds: Double, probeM: Int, probeN: Int) {
        self.shape = shape; self.seconds = seconds; self.probeM = probeM; self.probeN = probeN
    }
}

/// Causal self-attention of one layer and micro-batch: B·NH (batch, head) pairs of T tokens, hs channels.
/// `method`: the kernel pair training will run (AttentionMethod.chosen).
public struct AttentionShape: Equatable, Sendable {
    public var pairs: Int, T: Int, hs: Int
    public var method: AttentionMethod
    public init(pairs: Int, T: Int, hs: Int, method: AttentionMethod = .materialized) {
        self.pairs = pairs; self.T = T; self.hs = hs; self.method = method
    }
}

/// What the probe measured.
public struct ThroughputMeasurement: Sendable {
    public var gemm: [GemmTiming]
    /// The attention kernels at full size, per layer and micro-batch.
    public var attentionForwardSeconds: Double
    public var attentionBackwardSeconds: Double
    public var memcpyBytesPerSecond: Double
    public var threads: Int
    /// Wall time the probe took.
    public var seconds: Double

    public init(gemm: [GemmTiming], attentionForwardSeconds: Double, attentionBackwardSeconds: Double,
                memcpyBytesPerSecond: Double, threads: Int, seconds: Double = 0) {
        self.gemm = gemm
        self.attentionForwardSeconds = attentionForwardSeconds
        self.attentionBackwardSeconds = attentionBackwardSeconds
        self.memcpyBytesPerSecond = memcpyBytesPerSecond; self.threads = threads; self.seconds = seconds
    }

    /// Seconds of every timed product, per forward micro-batch.
    public var gemmSeconds: Double { gemm.reduce(0) { $0 + $1.seconds } }
    /// GFLOP/s over all the timed products together.
    public var gemmGFLOPS: Double { gemm.reduce(0) { $0 + $1.shape.flops } / max(gemmSeconds, 1e-12) / 1e9 }
}

public enum ThroughputProbe {
    /// A timed product does at most this many FLOPs (≈ 10 ms at 100 GFLOP/s).
    static let flopCap = 1e9
    /// Slicing stops at this many rows or columns.
    static let minimumSlice = 512
    /// Floats copied by the memcpy probe: 32 MiB, beyond the last-level cache of most CPUs.
    static let memcpyFloats = 8 << 20
    /// The attention probe runs this many (batch, head) pairs per thread at most.
    static let attentionPairsPerThread = 4
    /// Floats one timed kernel may allocate in all (128 MiB): `plan` must run for any config.
    public static let probeFloats = 32 << 20
    /// A long context is cut in half until the attention buffers fit, but not below this.
    static let minimumProbeContext = 64

    /// Times `shapes` and the attention kernels at `threads` threads, and memcpy.
    public static func measure(_ shapes: [GemmShape], attention: AttentionShape,
                               threads: Int) -> ThroughputMeasurement {
        let t0 = DispatchTime.now().uptimeNanoseconds
        Parallel.setThreadCount(threads)
        let timings = shapes.map(time)
        let (forward, backward) = time(attention, threads: threads)
        let bandwidth = memcpyBandwidth()
        return ThroughputMeasurement(gemm: timings, attentionForwardSeconds: forward,
                                     attentionBackwardSeconds: backward,
                                     memcpyBytesPerSecond: bandwidth, threads: threads,
                                     seconds: Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }

    /// The shape's attention kernel pair (Kernels/Attention.swift or AttentionTiled.swift) on a few whole
    /// heads, scaled to all pairs: the kernels give each thread a fixed share of the pairs, so time grows
    /// with the share.
    static func time(_ shape: AttentionShape, threads: Int) -> (forward: Double, backward: Double) {
        guard shape.pairs > 0, shape.T > 0, shape.hs > 0 else { return (0, 0) }
        let threads = max(1, min(threads, shape.pairs))
        var pairs = min(shape.pairs, attentionPairsPerThread * threads)
        if pairs > threads { pairs -= pairs % threads }
        // Cut the context, then the head size, then the pairs until the buffers fit (in Double: the
        // configured sizes may be far beyond Int products).
        var t = shape.T, hs = shape.hs
        let tiled = shape.method == .tiled
        func floats(_ p: Int, _ t: Int, _ hs: Int) -> Double {
            let dp = Double(p), dt = Double(t), w = Double(min(threads, p))
            if tiled { return 8 * dp * dt * Double(hs) + dp * dt + w * (dt + 3 * 64 * 64 + 3 * 64 * Double(hs)) }
            return 8 * dp * dt * Double(hs) + dp * dt * (dt + 16) + w * min(64, dt) * dt
        }
        let budget = Double(probeFloats)
        while floats(pairs, t, hs) > budget && t > minimumProbeContext { t = max(minimumProbeContext, t / 2) }
        // The tiled kernels fit any context in memory; cut their context by work instead.
        while tiled && Double(pairs) * Double(t) * Double(t) * Double(hs) > flopCap && t > minimumProbeContext {
            t = max(minimumProbeContext, t / 2)
        }
        while floats(pairs, t, hs) > budget && hs > 1 { hs = max(1, hs / 2) }
        while floats(pairs, t, hs) > budget && pairs > 1 { pairs = max(1, pairs / 2) }
        let g = AttentionGeometry.heads(B: 1, NH: pairs, T: t, hs: hs)
        let n = pairs * t * hs
        let buffers = (0..<8).map { _ in allocateAligned(n, zeroed: false) }  // q k v out dq dk dv dout
        let saved = allocateAligned(tiled ? attentionTiledSavedCount(g) : g.probsCount, zeroed: false)
        let scratch = allocateAligned(max(1, tiled ? max(attentionTiledForwardScratchCount(g),
                                                         attentionTiledBackwardScratchCount(g))
                                                   : attentionBackwardScratchCount(g)), zeroed: false)
        defer { (buffers + [saved, scratch]).forEach(deallocateAligned) }
        var rng = RandomGenerator(seed: 8)
        for b in buffers { rng.fillUniform(b, count: n, low: -1, high: 1) }
        let scale = 1 / Float(hs).squareRoot()
        let forward = median(seconds: 0.02, minimumRuns: 5) {
            if tiled {
                attentionTiledForward(buffers[3], saved, scratch: scratch, q: buffers[0], k: buffers[1],
                                      v: buffers[2], geometry: g, scale: scale, causal: true, keyStart: nil)
            } else {
                attentionForward(buffers[3], saved, q: buffers[0], k: buffers[1], v: buffers[2], geometry: g,
                                 scale: scale, causal: true, keyStart: nil)
            }
        }
        let backward = median(seconds: 0.02, minimumRuns: 5) {
            if tiled {
                attentionTiledBackward(dq: buffers[4], dk: buffers[5], dv: buffers[6], scratch: scratch,
                                       dout: buffers[7], out: buffers[3], lse: saved, q: buffers[0], k: buffers[1],
                                       v: buffers[2], geometry: g, scale: scale, causal: true, keyStart: nil)
            } else {
                attentionBackward(dq: buffers[4], dk: buffers[5], dv: buffers[6], scratch: scratch,
                                  dout: buffers[7], probs: saved, q: buffers[0], k: buffers[1], v: buffers[2],
                                  geometry: g, scale: scale, causal: true, keyStart: nil)
            }
        }
        func perWorker(_ p: Int) -> Double { Double((p + min(threads, p) - 1) / min(threads, p)) }
        let context = Double(shape.T) / Double(t), width = Double(shape.hs) / Double(hs)
        let factor = perWorker(shape.pairs) / perWorker(pairs) * context * context * width
        return (forward * factor, backward * factor)
    }

    /// The shape's full time, from the median of a few runs of it (or of a slice of it).
    public static func time(_ shape: GemmShape) -> GemmTiming {
        var m = shape.m, n = shape.n, k = shape.k
        while 2 * Double(m) * Double(n) * Double(k) > flopCap {
            if m >= n && m > minimumSlice { m = max(minimumSlice, m / 2) }
            else if n > minimumSlice { n = max(minimumSlice, n / 2) }
            else { break }
        }
        // A very wide inner dimension (or a very thin product) can still need more memory than a probe
        // may take, or take long: slice K, then the larger of M and N.
        func floats() -> Double { Double(m) * Double(k) + Double(n) * Double(k) + Double(m) * Double(n) }
        while (floats() > Double(probeFloats) || 2 * Double(m) * Double(n) * Double(k) > 4 * flopCap)
                && k > minimumSlice { k = max(minimumSlice, k / 2) }
        while floats() > Double(probeFloats) && max(m, n) > 1 {
            if m >= n { m = max(1, m / 2) } else { n = max(1, n / 2) }
        }
        let a = allocateAligned(m * k, zeroed: false), b = allocateAligned(n * k, zeroed: false)
        let c = allocateAligned(m * n, zeroed: false)
        defer { deallocateAligned(a); deallocateAligned(b); deallocateAligned(c) }
        var rng = RandomGenerator(seed: 7)
        rng.fillUniform(a, count: m * k, low: -1, high: 1)
        rng.fillUniform(b, count: n * k, low: -1, high: 1)
        // The fastest quarter: a training step issues these products back to back on warm threads and
        // caches, which a short probe on a machine that was idle a moment ago only sometimes sees.
        let once = median(seconds: 0.05, minimumRuns: 8, quantile: 0.25) {
            sgemm(transB: true, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k, c: c, ldc: n)
        }
        let scale = Double(shape.m) * Double(shape.n) * Double(shape.k) / (Double(m) * Double(n) * Double(k))
            * Double(shape.calls)
        return GemmTiming(shape: shape, seconds: once * scale, probeM: m, probeN: n)
    }

    /// Bytes read plus bytes written per second by memcpy (as `Benchmarks elementwise` counts them),
    /// from the fastest copy: on a shared machine memory bandwidth swings by 2–3× between runs, and
    /// the fastest copy varies least (the calibration in StepTimeEstimate absorbs the difference).
    static func memcpyBandwidth() -> Double {
        let n = memcpyFloats
        let src = allocateAligned(n), dst = allocateAligned(n)
        defer { deallocateAligned(src); deallocateAligned(dst) }
        let t = median(seconds: 0.1, minimumRuns: 5, quantile: 0) { memcpy(dst, src, n * MemoryLayout<Float>.size) }
        return 2 * Double(n * MemoryLayout<Float>.size) / t
    }

    /// Median (or another `quantile`) wall time of `body` after one warm-up run, over at least
    /// `minimumRuns` runs and until about `seconds` have passed (at most 50 runs).
    static func median(seconds budget: Double, minimumRuns: Int, quantile: Double = 0.5, _ body: () -> Void) -> Double {
        body()
        var times: [Double] = []
        var total = 0.0
        while times.count < minimumRuns || (total < budget && times.count < 50) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            let t = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            times.append(t); total += t
        }
        times.sort()
        return max(times[Int(quantile * Double(times.count - 1))], 1e-9)
    }
}
