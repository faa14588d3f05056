// Scaled dot-product attention, forward and backward, for every batch b and head h:
//   S = scale·Q·Kᵀ (T, T), P = softmax(S) over each query's visible keys, O = P·V (T, hs).
// Row t of head h in batch b lives at base + b·strideB + h·strideH + t·strideT, so one kernel serves
// (B, NH, T, hs) tensors and the fused (B, T, 3C) qkv / (B, T, C) output of GPT's c_attn.
// Reference: Vaswani et al. 2017, eq. 1; the softmax backward dS = P ⊙ (dP − rowsum(P ⊙ dP)) is
// the one FlashAttention (Dao et al. 2022) writes with rowsum(dO ⊙ O).
import Foundation

/// Where the rows of one operand live: row t of head h in batch b starts at
/// base + b·strideB + h·strideH + t·strideT.
public struct AttentionLayout: Equatable, Sendable {
    public var strideB: Int, strideH: Int, strideT: Int
    public init(strideB: Int, strideH: Int, strideT: Int) {
        self.strideB = strideB; self.strideH = strideH; self.strideT = strideT
    }
}

/// Sizes and layouts of one attention call. `input` addresses q, k and v (and dq, dk, dv);
/// `output` addresses out (and dout).
public struct AttentionGeometry: Equatable, Sendable {
    public let B: Int, NH: Int, T: Int, hs: Int
    public let input: AttentionLayout
    public let output: AttentionLayout

    public init(B: Int, NH: Int, T: Int, hs: Int, input: AttentionLayout, output: AttentionLayout) {
        precondition(B >= 0 && NH >= 0 && T >= 0 && hs >= 0, "attention: negative size B=\(B) NH=\(NH) T=\(T) hs=\(hs)")
        self.B = B; self.NH = NH; self.T = T; self.hs = hs
        self.input = input; self.output = output
    }

    /// q, k, v and out all (B, NH, T, hs), contiguous.
    public static func heads(B: Int, NH: Int, T: Int, hs: Int) -> AttentionGeometry {
        let l = AttentionLayout(strideB: NH * T * hs, strideH: T * hs, strideT: hs)
        return AttentionGeometry(B: B, NH: NH, T: T, hs: hs, input: l, output: l)
    }

    /// q, k, v read from (B, T, 3C) as [q | k | v] along the last axis (pass qkv, qkv + C, qkv + 2C);
    /// out written to (B, T, C) with heads side by side, C = NH·hs.
    public static func fused(B: Int, T: Int, NH: Int, hs: Int) -> AttentionGeometry {
        let C = NH * hs
        return AttentionGeometry(B: B, NH: NH, T: T, hs: hs,
                                 input: AttentionLayout(strideB: T * 3 * C, strideH: hs, strideT: 3 * C),
                                 output: AttentionLayout(strideB: T * C, strideH: hs, strideT: C))
    }

    /// Row stride of the saved probabilities: T rounded up to a multiple of 16, so every softmax row
    /// is whole 16-lane vectors (no partial loads for odd lengths).
    public var probsStride: Int { (T + 15) & ~15 }

    /// Floats of the saved probabilities, (B, NH, T, probsStride).
    public var probsCount: Int { B * NH * T * probsStride }
}

/// Query rows handled per pair of matrix products. With causal masking a block of rows needs keys up
/// to its last row only, so the work wasted on masked entries is confined to the diagonal blocks.
public let attentionBlockRows = 64

/// Converts packing segment ids (B, T) into, for each query, the first key it may see: the start of
/// the run of equal ids that contains it. Causal attention restricted to equal ids is then the
/// contiguous key range [keyStart[b·T + i], i] (ids must not reappear after a different id in a row).
public func segmentKeyStarts(_ keyStart: UnsafeMutablePointer<Int32>, segments: UnsafePointer<Int32>, B: Int, T: Int) {
    for b in 0..<B {
        let seg = segments + b * T, ks = keyStart + b * T
        var start = 0
        for i in 0..<T {
            if i > 0 && seg[i] != seg[i - 1] { start = i }
            ks[i] = Int32(start)
        }
    }
}

/// Floats of scratch `attentionBackward` needs: one block of dP/dS rows per worker.
public func attentionBackwardScratchCount(_ g: AttentionGeometry) -> Int {
    attentionWorkers(g) * min(attentionBlockRows, max(g.T, 1)) * g.T
}

/// Workers the kernels split (b, h) pairs over; each gets a fixed contiguous range of pairs.
@inline(__always)
func attentionWorkers(_ g: AttentionGeometry) -> Int {
    max(1, min(Parallel.threadCount, g.B * g.NH))
}

/// Runs `body(worker, pairs)` over fixed ranges of (b·NH + h) pairs, with OpenBLAS on one thread so
/// the per-head sgemm calls never nest threads. Every pair is computed the same way whatever the
/// partition, so results do not depend on the thread count.
@inline(__always)
private func forEachHeadRange(_ g: AttentionGeometry, _ body: (_ worker: Int, _ pairs: Range<Int>) -> Void) {
    let pairs = g.B * g.NH
    if pairs == 0 || g.T == 0 { return }
    let workers = attentionWorkers(g)
    let savedBLAS = Parallel.blasThreads
    if savedBLAS != 1 { Parallel.setBLASThreads(1) }
    defer { if savedBLAS != 1 { Parallel.setBLASThreads(savedBLAS) } }
    let work = pairs * g.T * g.T * max(g.hs, 1)
    Profiler.withoutBLASRecording {
        Parallel.forRanges(workers, costPerItem: work / workers, minWork: 1 << 18) { wr in
            for w in wr { body(w, Parallel.chunkRange(w, of: workers, count: pairs)) }
        }
    }
}

/// out = softmax(scale·q·kᵀ)·v per (b, h); probs (B, NH, T, probsStride) receives P, with zeros at
/// masked keys and in the padding columns.
/// causal: query i sees keys [keyStart?[b·T + i] ?? 0, i]; otherwise all T keys.
public func attentionForward(_ out: UnsafeMutablePointer<Float>, _ probs: UnsafeMutablePointer<Float>,
                             q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                             geometry g: AttentionGeometry, scale: Float, causal: Bool,
                             keyStart: UnsafePointer<Int32>?) {
    precondition(keyStart == nil || causal, "attentionForward: segments need causal masking")
    let T = g.T, hs = g.hs, NH = g.NH, Tp = g.probsStride
    let li = g.input, lo = g.output
    forEachHeadRange(g) { _, pairs in
        for pair in pairs {
            let b = pair / NH, h = pair % NH
            let qb = q + b * li.strideB + h * li.strideH
            let kb = k + b * li.strideB + h * li.strideH
            let vb = v + b * li.strideB + h * li.strideH
            let ob = out + b * lo.strideB + h * lo.strideH
            let P = probs + pair * T * Tp  // (T, Tp)
            let starts = keyStart.map { $0 + b * T }
            var r0 = 0
            while r0 < T {
                let r1 = min(r0 + attentionBlockRows, T)
                let ks = causal ? Int(starts?[r0] ?? 0) : 0
                let ke = causal ? r1 : T
                // S[r0..<r1, ks..<ke] = scale · Q[r0..<r1] · K[ks..<ke]ᵀ, straight into P's rows.
                sgemm(transB: true, m: r1 - r0, n: ke - ks, k: hs, alpha: scale,
                      a: qb + r0 * li.strideT, lda: li.strideT, b: kb + ks * li.strideT, ldb: li.strideT,
                      c: P + r0 * Tp + ks, ldc: Tp)
                for i in r0..<r1 {
                    softmaxRow(P + i * Tp, start: causal ? Int(starts?[i] ?? 0) : 0, end: causal ? i + 1 : T,
                               stride: Tp)
                }
                // O[r0..<r1] = P[r0..<r1, ks..<ke] · V[ks..<ke]  (masked entries of P are 0)
                sgemm(m: r1 - r0, n: hs, k: ke - ks, a: P + r0 * Tp + ks, lda: Tp,
                      b: vb + ks * li.strideT, ldb: li.strideT, c: ob + r0 * lo.strideT, ldc: lo.strideT)
                r0 = r1
            }
        }
    }
}

/// Backward of `attentionForward`: accumulates into dq, dk, dv (any may be nil to skip it) from
/// dout and the saved probs. `scratch` holds `attentionBackwardScratchCount(geometry)` floats.
/// `accumulate: false` stores instead: each worker zero-fills its heads' rows of dq, dk and dv just
/// before adding into them (in parallel and in cache, where a zero-filled gradient buffer would cost
/// a serial pass over memory).
public func attentionBackward(dq: UnsafeMutablePointer<Float>?, dk: UnsafeMutablePointer<Float>?,
                              dv: UnsafeMutablePointer<Float>?, scratch: UnsafeMutablePointer<Float>,
                              dout: UnsafePointer<Float>, probs: UnsafePointer<Float>,
                              q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                              geometry g: AttentionGeometry, scale: Float, causal: Bool,
                              keyStart: UnsafePointer<Int32>?, accumulate: Bool = true) {
    precondition(keyStart == nil || causal, "attentionBackward: segments need causal masking")
    if dq == nil && dk == nil && dv == nil { return }
    let T = g.T, hs = g.hs, NH = g.NH, Tp = g.probsStride
    let li = g.input, lo = g.output
    let blockRows = min(attentionBlockRows, max(T, 1))
    forEachHeadRange(g) { worker, pairs in
        let dS = scratch + worker * blockRows * T  // (blockRows, ke − ks), row stride ke − ks
        for pair in pairs {
            let b = pair / NH, h = pair % NH
            let headIn = b * li.strideB + h * li.strideH
            let qb = q + headIn, kb = k + headIn, vb = v + headIn
            let dob = dout + b * lo.strideB + h * lo.strideH
            let P = probs + pair * T * Tp
            let starts = keyStart.map { $0 + b * T }
            if !accumulate {
                zeroHeadRows(dq, headIn, T, hs, li.strideT)
                zeroHeadRows(dk, headIn, T, hs, li.strideT)
                zeroHeadRows(dv, headIn, T, hs, li.strideT)
            }
            var r0 = 0
            while r0 < T {
                let r1 = min(r0 + attentionBlockRows, T), rb = r1 - r0
                let ks = causal ? Int(starts?[r0] ?? 0) : 0
                let ke = causal ? r1 : T
                let n = ke - ks
                let Pb = P + r0 * Tp + ks, dOb = dob + r0 * lo.strideT
                // O = P·V  ⇒  dV[ks..<ke] += Pᵀ·dO
                if let dv {
                    sgemm(transA: true, m: n, n: hs, k: rb, a: Pb, lda: Tp, b: dOb, ldb: lo.strideT,
                          beta: 1, c: dv + headIn + ks * li.strideT, ldc: li.strideT)
                }
                if dq == nil && dk == nil { r0 = r1; continue }
                // dP = dO·Vᵀ, then P = softmax(S)  ⇒  dS = P ⊙ (dP − rowsum(P ⊙ dP)).
                // Masked entries have P = 0, so their dS is 0 without a mask.
                sgemm(transB: true, m: rb, n: n, k: hs, a: dOb, lda: lo.strideT,
                      b: vb + ks * li.strideT, ldb: li.strideT, c: dS, ldc: n)
                for i in 0..<rb { softmaxBackwardInPlace(dS + i * n, probs: Pb + i * Tp, count: n) }
                // S = scale·Q·Kᵀ  ⇒  dQ += scale·dS·K,  dK += scale·dSᵀ·Q
                if let dq {
                    sgemm(m: rb, n: hs, k: n, alpha: scale, a: dS, lda: n, b: kb + ks * li.strideT, ldb: li.strideT,
                          beta: 1, c: dq + headIn + r0 * li.strideT, ldc: li.strideT)
                }
                if let dk {
                    sgemm(transA: true, m: n, n: hs, k: rb, alpha: scale, a: dS, lda: n,
                          b: qb + r0 * li.strideT, ldb: li.strideT,
                          beta: 1, c: dk + headIn + ks * li.strideT, ldc: li.strideT)
                }
                r0 = r1
            }
        }
    }
}

/// Zero-fills rows 0..<T (hs floats each, strideT apart) of one head starting at `d + offset`
/// (both attention backward kernels start from it).
@inline(__always)
func zeroHeadRows(_ d: UnsafeMutablePointer<Float>?, _ offset: Int, _ T: Int, _ hs: Int, _ strideT: Int) {
    guard let d else { return }
    for t in 0..<T { (d + offset + t * strideT).update(repeating: 0, count: hs) }
}

/// row[s..<e] = softmax(row[s..<e]) and every other entry of the row (stride floats, a multiple of 16)
/// set to 0. Works on a window of whole 16-lane vectors around s..<e whose extra entries are set to −∞
/// (exp gives exactly 0), so odd lengths need no partial vectors; max and sum in a fixed lane order.
/// Never inlined: inlined into attentionForward's closure, its fastExp was emitted as a call.
@inline(never)
private func softmaxRow(_ row: UnsafeMutablePointer<Float>, start s: Int, end e: Int, stride: Int) {
    let width = (e - s + 15) & ~15
    let a = min(s, stride - width)  // window a..<a + width ⊇ s..<e, inside the row
    if a > 0 { row.update(repeating: 0, count: a) }
    if a + width < stride { (row + a + width).update(repeating: 0, count: stride - a - width) }
    if s > a { (row + a).update(repeating: -.infinity, count: s - a) }
    if a + width > e { (row + e).update(repeating: -.infinity, count: a + width - e) }
    let w = row + a
    var m16 = SIMD16<Float>(repeating: -.infinity)
    var j = 0
    while j < width {
        // A compare-and-select, which compiles to vector max (pointwiseMax goes lane by lane).
        let x = load16(w + j)
        m16.replace(with: x, where: x .> m16)
        j += 16
    }
    let mv = SIMD16<Float>(repeating: m16.max())
    var s16 = SIMD16<Float>()
    j = 0
    while j < width {
        let x = fastExp(load16(w + j) - mv)
        store16(x, w + j)
        s16 += x
        j += 16
    }
    let inv = SIMD16<Float>(repeating: 1 / s16.sum())
    j = 0
    while j < width { store16(load16(w + j) * inv, w + j); j += 16 }
}

/// dS[j] = P[j]·(dP[j] − Σ_j P[j]·dP[j]) in place over dP.
@inline(__always)
private func softmaxBackwardInPlace(_ dP: UnsafeMutablePointer<Float>, probs P: UnsafePointer<Float>, count n: Int) {
    var acc = SIMD16<Float>()
    var j = 0
    while j + 16 <= n { acc += load16(P + j) * load16(dP + j); j += 16 }
    var dot = acc.sum()
    while j < n { dot += P[j] * dP[j]; j += 1 }
    let dv = SIMD16<Float>(repeating: dot)
    j = 0
    while j + 16 <= n { store16(load16(P + j) * (load16(dP + j) - dv), dP + j); j += 16 }
    while j < n { dP[j] = P[j] * (dP[j] - dot); j += 1 }
}

// MARK: - Naive reference (test oracle)

/// `attentionForward` computed element by element in Double (same arguments and results).
public func attentionForwardReference(_ out: UnsafeMutablePointer<Float>, _ probs: UnsafeMutablePointer<Float>,
                                      q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                      geometry g: AttentionGeometry, scale: Float, causal: Bool,
                                      keyStart: UnsafePointer<Int32>?) {
    let T = g.T, hs = g.hs, li = g.input, lo = g.output
    var p = [Double](repeating: 0, count: T)
    for b in 0..<g.B {
        for h in 0..<g.NH {
            let headIn = b * li.strideB + h * li.strideH, headOut = b * lo.strideB + h * lo.strideH
            let P = probs + (b * g.NH + h) * T * g.probsStride
            for i in 0..<T {
                let s = causal ? Int(keyStart?[b * T + i] ?? 0) : 0, e = causal ? i + 1 : T
                var m = -Double.infinity
                for j in 0..<T {
                    p[j] = 0
                    guard j >= s && j < e else { continue }
                    var dot = 0.0
                    for d in 0..<hs {
                        dot += Double(q[headIn + i * li.strideT + d]) * Double(k[headIn + j * li.strideT + d])
                    }
                    p[j] = Double(scale) * dot
                    m = max(m, p[j])
                }
                var sum = 0.0
                for j in s..<e { p[j] = Foundation.exp(p[j] - m); sum += p[j] }
                for j in 0..<T { p[j] = j >= s && j < e ? p[j] / sum : 0; P[i * g.probsStride + j] = Float(p[j]) }
                for j in T..<g.probsStride { P[i * g.probsStride + j] = 0 }
                for d in 0..<hs {
                    var acc = 0.0
                    for j in s..<e { acc += p[j] * Double(v[headIn + j * li.strideT + d]) }
                    out[headOut + i * lo.strideT + d] = Float(acc)
                }
            }
        }
    }
}

/// `attentionBackward` computed element by element in Double from recomputed probabilities;
/// accumulates into dq, dk, dv.
public func attentionBackwardReference(dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>,
                                       dv: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                       q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                       geometry g: AttentionGeometry, scale: Float, causal: Bool,
                                       keyStart: UnsafePointer<Int32>?) {
    let T = g.T, hs = g.hs, li = g.input, lo = g.output
    let sc = Double(scale)
    for b in 0..<g.B {
        for h in 0..<g.NH {
            let headIn = b * li.strideB + h * li.strideH, headOut = b * lo.strideB + h * lo.strideH
            func Q(_ t: Int, _ d: Int) -> Double { Double(q[headIn + t * li.strideT + d]) }
            func K(_ t: Int, _ d: Int) -> Double { Double(k[headIn + t * li.strideT + d]) }
            func V(_ t: Int, _ d: Int) -> Double { Double(v[headIn + t * li.strideT + d]) }
            func dO(_ t: Int, _ d: Int) -> Double { Double(dout[headOut + t * lo.strideT + d]) }
            var gq = [Double](repeating: 0, count: T * hs)
            var gk = gq, gv = gq
            for i in 0..<T {
                let s = causal ? Int(keyStart?[b * T + i] ?? 0) : 0, e = causal ? i + 1 : T
                var p = [Double](repeating: 0, count: T)
                var m = -Double.infinity
                for j in s..<e {
                    var dot = 0.0
                    for d in 0..<hs { dot += Q(i, d) * K(j, d) }
                    p[j] = sc * dot
                    m = max(m, p[j])
                }
                var sum = 0.0
                for j in s..<e { p[j] = Foundation.exp(p[j] - m); sum += p[j] }
                var dp = [Double](repeating: 0, count: T)
                var rowDot = 0.0
                for j in s..<e {
                    p[j] /= sum
                    for d in 0..<hs { dp[j] += dO(i, d) * V(j, d) }
                    rowDot += p[j] * dp[j]
                }
                for j in s..<e {
                    let ds = p[j] * (dp[j] - rowDot) * sc
                    for d in 0..<hs {
                        gq[i * hs + d] += ds * K(j, d)
                        gk[j * hs + d] += ds * Q(i, d)
                        gv[j * hs + d] += p[j] * dO(i, d)
                    }
                }
            }
            for t in 0..<T {
                for d in 0..<hs {
                    dq[headIn + t * li.strideT + d] += Float(gq[t * hs + d])
                    dk[headIn + t * li.strideT + d] += Float(gk[t * hs + d])
                    dv[headIn + t * li.strideT + d] += Float(gv[t * hs + d])
                }
            }
        }
    }
}
