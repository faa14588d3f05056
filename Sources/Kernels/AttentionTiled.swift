// Tiled scaled dot-product attention, forward and backward, in memory linear in T: the same result as
// attentionForward / attentionBackward (Attention.swift, which stays as the oracle) without the
// (B, NH, T, T) probabilities. Forward walks key tiles with an online softmax (a running row max m
// and sum l rescale what is already accumulated) and saves only lse = m + log l per row (B, NH, T);
// backward recomputes each tile's P = exp(S − lse). Tiles wholly above the causal diagonal, or
// before a row tile's first visible key (packing segments), are skipped.
// Layouts as AttentionGeometry: q, k, v (and dq, dk, dv) by `input`, out and dout by `output`.
// Reference: Dao et al. 2022 (FlashAttention), algorithms 1 and 2; Dao 2023 (FlashAttention-2) for
// D = rowsum(dO ⊙ O) in the backward.
import Foundation

/// Query rows per tile, and keys per tile.
public let attentionTileRows = 64
public let attentionTileKeys = 64

/// Workers the tiled forward splits (pair, row tile) items over.
@inline(__always)
func tiledForwardWorkers(_ g: AttentionGeometry) -> Int {
    let tiles = (g.T + attentionTileRows - 1) / attentionTileRows
    return max(1, min(Parallel.threadCount, g.B * g.NH * tiles))
}

/// Floats of workspace `attentionTiledForward` needs at the current thread count: per worker one
/// score tile (rows × keys), one output accumulator (rows × hs) and the rows' running max and sum.
public func attentionTiledForwardScratchCount(_ g: AttentionGeometry) -> Int {
    tiledForwardWorkers(g) * (attentionTileRows * (attentionTileKeys + g.hs + 2))
}

/// Floats of workspace `attentionTiledBackward` needs at the current thread count: per worker
/// D = rowsum(dO ⊙ O) for one head (T), P and dS tiles, and dK, dV accumulators for one key tile.
public func attentionTiledBackwardScratchCount(_ g: AttentionGeometry) -> Int {
    attentionWorkers(g) * (g.T + 2 * attentionTileRows * attentionTileKeys + 2 * attentionTileKeys * g.hs)
}

/// Floats the tiled forward saves for backward: lse, (B, NH, T).
public func attentionTiledSavedCount(_ g: AttentionGeometry) -> Int { g.B * g.NH * g.T }

/// Runs `body` on `workers` threads with OpenBLAS on one thread (per-tile sgemm calls never nest
/// threads), and the per-tile products left out of the BLAS profile (they count as attention).
@inline(__always)
private func runTiled(workers: Int, work: Int, _ body: (_ worker: Int) -> Void) {
    let savedBLAS = Parallel.blasThreads
    if savedBLAS != 1 { Parallel.setBLASThreads(1) }
    defer { if savedBLAS != 1 { Parallel.setBLASThreads(savedBLAS) } }
    Profiler.withoutBLASRecording {
        Parallel.forRanges(workers, costPerItem: work / workers, minWork: 1 << 18) { wr in
            for w in wr { body(w) }
        }
    }
}

/// out = softmax(scale·q·kᵀ)·v per (b, h), and lse (B, NH, T) = log Σ_j exp(scale·q_i·k_j) over each
/// query's visible keys. causal: query i sees keys [keyStart?[b·T + i] ?? 0, i]; otherwise all T.
/// `scratch` holds `attentionTiledForwardScratchCount(geometry)` floats. Parallel over (b·NH + h,
/// row tile) items dealt round-robin to the workers (causal row tiles grow in cost along T, so
/// alternate tiles balance); each item is computed the same way whatever the partition.
public func attentionTiledForward(_ out: UnsafeMutablePointer<Float>, _ lse: UnsafeMutablePointer<Float>,
                                  scratch: UnsafeMutablePointer<Float>,
                                  q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                  geometry g: AttentionGeometry, scale: Float, causal: Bool,
                                  keyStart: UnsafePointer<Int32>?) {
    precondition(keyStart == nil || causal, "attentionTiledForward: segments need causal masking")
    let T = g.T, hs = g.hs, NH = g.NH, Br = attentionTileRows, Bc = attentionTileKeys
    let li = g.input, lo = g.output
    let tiles = (T + Br - 1) / Br, items = g.B * NH * tiles
    if items == 0 { return }
    let workers = tiledForwardWorkers(g)
    runTiled(workers: workers, work: g.B * NH * T * T * max(hs, 1)) { w in
        let S = scratch + w * Br * (Bc + hs + 2)  // (Br, Bc) scores, then probabilities
        let acc = S + Br * Bc                      // (Br, hs) unnormalised output rows
        let m = acc + Br * hs, l = m + Br          // (Br) running max and sum
        var item = w
        while item < items {
            defer { item += workers }
            let pair = item / tiles, r0 = (item % tiles) * Br, r1 = min(r0 + Br, T), rb = r1 - r0
            let b = pair / NH, h = pair % NH
            let headIn = b * li.strideB + h * li.strideH
            let qr = q + headIn + r0 * li.strideT, kh = k + headIn, vh = v + headIn
            let starts = keyStart.map { $0 + b * T }
            m.update(repeating: -.infinity, count: rb)
            l.update(repeating: 0, count: rb)
            acc.update(repeating: 0, count: rb * hs)
            // Keys any row of the tile sees: segment starts never decrease along a row of the batch.
            let kLo = causal ? Int(starts?[r0] ?? 0) : 0, kHi = causal ? r1 : T
            var c0 = kLo
            while c0 < kHi {
                let c1 = min(c0 + Bc, kHi), n = c1 - c0
                // S = scale · Q[r0..<r1] · K[c0..<c1]ᵀ
                sgemm(transB: true, m: rb, n: n, k: hs, alpha: scale, a: qr, lda: li.strideT,
                      b: kh + c0 * li.strideT, ldb: li.strideT, c: S, ldc: Bc)
                for i in 0..<rb {
                    let row = r0 + i
                    let vis0 = causal ? max(c0, Int(starts?[row] ?? 0)) : c0
                    let vis1 = causal ? min(c1, row + 1) : c1
                    // A row whose segment starts past this tile sees none of it (vis0 > vis1).
                    onlineSoftmaxRow(S + i * Bc, acc: acc + i * hs, m: m + i, l: l + i, count: n,
                                     visible: (vis0 - c0)..<(max(vis0, vis1) - c0), hs: hs)
                }
                // acc[r0..<r1] += P · V[c0..<c1]  (invisible entries of P are 0)
                sgemm(m: rb, n: hs, k: n, a: S, lda: Bc, b: vh + c0 * li.strideT, ldb: li.strideT,
                      beta: 1, c: acc, ldc: hs)
                c0 = c1
            }
            let ob = out + b * lo.strideB + h * lo.strideH + r0 * lo.strideT
            let lseRow = lse + pair * T + r0
            for i in 0..<rb {
                // Every row sees at least its own key, so l ≥ 1.
                let inv = 1 / l[i], o = ob + i * lo.strideT, a = acc + i * hs
                for d in 0..<hs { o[d] = a[d] * inv }
                lseRow[i] = m[i] + Foundation.log(l[i])
            }
        }
    }
}

/// One row of a score tile: with m the row's running max and l its running sum, finds the new max
/// over the visible entries, rescales acc and l by exp(m − m_new), and overwrites the row with
/// p = exp(s − m_new) (0 outside `visible`, and for a row that sees nothing in this tile).
/// The row has room for whole 16-lane vectors (its stride attentionTileKeys is a multiple of 16).
@inline(never)
private func onlineSoftmaxRow(_ row: UnsafeMutablePointer<Float>, acc: UnsafeMutablePointer<Float>,
                              m: UnsafeMutablePointer<Float>, l: UnsafeMutablePointer<Float>,
                              count n: Int, visible: Range<Int>, hs: Int) {
    let width = (n + 15) & ~15
    if visible.isEmpty { row.update(repeating: 0, count: width); return }
    // −∞ outside the visible keys: exp gives exactly 0 there, so the vectors need no partial loads.
    if visible.lowerBound > 0 { row.update(repeating: -.infinity, count: visible.lowerBound) }
    if visible.upperBound < width {
        (row + visible.upperBound).update(repeating: -.infinity, count: width - visible.upperBound)
    }
    var m16 = SIMD16<Float>(repeating: -.infinity)
    var j = 0
    while j < width {
        let x = load16(row + j)
        m16.replace(with: x, where: x .> m16)
        j += 16
    }
    let mOld = m.pointee, mNew = max(mOld, m16.max())
    let mv = SIMD16<Float>(repeating: mNew)
    var s16 = SIMD16<Float>()
    j = 0
    while j < width {
        let x = fastExp(load16(row + j) - mv)
        store16(x, row + j)
        s16 += x
        j += 16
    }
    if mNew > mOld && mOld != -.infinity {
        let c = fastExp(mOld - mNew)
        l.pointee *= c
        for d in 0..<hs { acc[d] *= c }
    }
    l.pointee += s16.sum()
    m.pointee = mNew
}

/// Backward of `attentionTiledForward`: accumulates into dq, dk, dv (any may be nil to skip it) from
/// dout, the forward's out and lse. `scratch` holds `attentionTiledBackwardScratchCount(geometry)`
/// floats. `accumulate: false` stores instead (each worker zero-fills its heads' rows first).
/// Parallel over (b, h) pairs with a fixed partition: dK and dV of a key tile sum over every query
/// tile below it, and dQ over every key tile, so each head runs serially in one fixed order, and
/// results do not depend on the thread count.
public func attentionTiledBackward(dq: UnsafeMutablePointer<Float>?, dk: UnsafeMutablePointer<Float>?,
                                   dv: UnsafeMutablePointer<Float>?, scratch: UnsafeMutablePointer<Float>,
                                   dout: UnsafePointer<Float>, out: UnsafePointer<Float>, lse: UnsafePointer<Float>,
                                   q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                   geometry g: AttentionGeometry, scale: Float, causal: Bool,
                                   keyStart: UnsafePointer<Int32>?, accumulate: Bool = true) {
    precondition(keyStart == nil || causal, "attentionTiledBackward: segments need causal masking")
    if dq == nil && dk == nil && dv == nil { return }
    let T = g.T, hs = g.hs, NH = g.NH, Br = attentionTileRows, Bc = attentionTileKeys
    let li = g.input, lo = g.output
    let pairs = g.B * NH
    if pairs == 0 || T == 0 { return }
    let workers = attentionWorkers(g)
    let perWorker = T + 2 * Br * Bc + 2 * Bc * hs
    runTiled(workers: workers, work: pairs * T * T * max(hs, 1)) { w in
        let D = scratch + w * perWorker      // (T) rowsum(dO ⊙ O) of one head
        let P = D + T, dS = P + Br * Bc      // (Br, Bc) each
        let dKc = dS + Br * Bc, dVc = dKc + Bc * hs  // (Bc, hs) each
        for pair in Parallel.chunkRange(w, of: workers, count: pairs) {
            let b = pair / NH, h = pair % NH
            let headIn = b * li.strideB + h * li.strideH, headOut = b * lo.strideB + h * lo.strideH
            let qh = q + headIn, kh = k + headIn, vh = v + headIn
            let doh = dout + headOut, oh = out + headOut, lseh = lse + pair * T
            let starts = keyStart.map { $0 + b * T }
            if !accumulate {
                zeroHeadRows(dq, headIn, T, hs, li.strideT)
                zeroHeadRows(dk, headIn, T, hs, li.strideT)
                zeroHeadRows(dv, headIn, T, hs, li.strideT)
            }
            for t in 0..<T { D[t] = rowDot(doh + t * lo.strideT, oh + t * lo.strideT, count: hs) }
            var c0 = 0
            while c0 < T {
                let c1 = min(c0 + Bc, T), n = c1 - c0
                dKc.update(repeating: 0, count: n * hs)
                dVc.update(repeating: 0, count: n * hs)
                // Query rows that see some key of c0..<c1: causal from c0 on, until segments move past c1.
                var qEnd = T
                if let starts { while qEnd > c0 && Int(starts[qEnd - 1]) >= c1 { qEnd -= 1 } }
                var r0 = causal ? c0 : 0
                while r0 < qEnd {
                    let r1 = min(r0 + Br, qEnd), rb = r1 - r0
                    let qr = qh + r0 * li.strideT, dOr = doh + r0 * lo.strideT
                    // P = exp(scale · Q[r0..<r1] · K[c0..<c1]ᵀ − lse), 0 where a key is not visible.
                    sgemm(transB: true, m: rb, n: n, k: hs, alpha: scale, a: qr, lda: li.strideT,
                          b: kh + c0 * li.strideT, ldb: li.strideT, c: P, ldc: Bc)
                    for i in 0..<rb {
                        let row = r0 + i
                        let vis0 = causal ? max(c0, Int(starts?[row] ?? 0)) : c0
                        let vis1 = causal ? min(c1, row + 1) : c1
                        probabilityRow(P + i * Bc, count: n, visible: (vis0 - c0)..<(max(vis0, vis1) - c0),
                                       lse: lseh[row])
                    }
                    // O = P·V  ⇒  dV[c0..<c1] += Pᵀ·dO
                    if dv != nil {
                        sgemm(transA: true, m: n, n: hs, k: rb, a: P, lda: Bc, b: dOr, ldb: lo.strideT,
                              beta: 1, c: dVc, ldc: hs)
                    }
                    if dq != nil || dk != nil {
                        // dP = dO·Vᵀ, P = softmax(S)  ⇒  dS = P ⊙ (dP − D), D_i = rowsum(P ⊙ dP) = dO_i·O_i
                        sgemm(transB: true, m: rb, n: n, k: hs, a: dOr, lda: lo.strideT,
                              b: vh + c0 * li.strideT, ldb: li.strideT, c: dS, ldc: Bc)
                        for i in 0..<rb { softmaxGradientRow(dS + i * Bc, probs: P + i * Bc, count: n, D: D[r0 + i]) }
                        // S = scale·Q·Kᵀ  ⇒  dQ += scale·dS·K,  dK += scale·dSᵀ·Q
                        if let dq {
                            sgemm(m: rb, n: hs, k: n, alpha: scale, a: dS, lda: Bc, b: kh + c0 * li.strideT,
                                  ldb: li.strideT, beta: 1, c: dq + headIn + r0 * li.strideT, ldc: li.strideT)
                        }
                        if dk != nil {
                            sgemm(transA: true, m: n, n: hs, k: rb, alpha: scale, a: dS, lda: Bc, b: qr,
                                  ldb: li.strideT, beta: 1, c: dKc, ldc: hs)
                        }
                    }
                    r0 = r1
                }
                addRows(dk, headIn + c0 * li.strideT, dKc, n, hs, li.strideT)
                addRows(dv, headIn + c0 * li.strideT, dVc, n, hs, li.strideT)
                c0 = c1
            }
        }
    }
}

/// Adds `count` contiguous rows of hs floats from `tile` into rows strideT apart starting at `d + offset`.
@inline(__always)
private func addRows(_ d: UnsafeMutablePointer<Float>?, _ offset: Int, _ tile: UnsafePointer<Float>, _ count: Int,
                     _ hs: Int, _ strideT: Int) {
    guard let d else { return }
    for j in 0..<count {
        let dst = d + offset + j * strideT, src = tile + j * hs
        for e in 0..<hs { dst[e] += src[e] }
    }
}

/// row[j] = exp(row[j] − lse) for visible j, else 0; the row has room for whole 16-lane vectors.
@inline(never)
private func probabilityRow(_ row: UnsafeMutablePointer<Float>, count n: Int, visible: Range<Int>, lse: Float) {
    let width = (n + 15) & ~15
    if visible.isEmpty { row.update(repeating: 0, count: width); return }
    if visible.lowerBound > 0 { row.update(repeating: -.infinity, count: visible.lowerBound) }
    if visible.upperBound < width {
        (row + visible.upperBound).update(repeating: -.infinity, count: width - visible.upperBound)
    }
    let lv = SIMD16<Float>(repeating: lse)
    var j = 0
    while j < width { store16(fastExp(load16(row + j) - lv), row + j); j += 16 }
}

/// dS[j] = P[j]·(dP[j] − D) in place over dP, on whole 16-lane vectors (P is 0 past the visible keys).
@inline(__always)
private func softmaxGradientRow(_ dP: UnsafeMutablePointer<Float>, probs P: UnsafePointer<Float>, count n: Int,
                                D: Float) {
    let dv = SIMD16<Float>(repeating: D)
    var j = 0
    while j < n { store16(load16(P + j) * (load16(dP + j) - dv), dP + j); j += 16 }
}
