// LayerNorm over the last axis of (N, C) rows, N = B·T (PyTorch semantics: biased variance, eps 1e-5):
//   mean = Σx/C, rstd = 1/√(Σ(x − mean)²/C + eps), out = (x − mean)·rstd·weight + bias
// Forward saves mean and rstd (N floats each). Backward is one pass per row (the formulation of
// llm.c's layernorm_backward, re-derived here): with n = (x − mean)·rstd and g = weight·dout,
//   dx = rstd·(g − mean(g) − n·mean(g·n)),  dweight += Σ_rows n·dout,  dbias += Σ_rows dout.
// weight and bias are optional (nil = no affine transform).
import Foundation

/// Rows are split into this many fixed chunks for backward's dweight/dbias partial sums, whatever
/// the thread count, so those sums are bitwise reproducible.
public let layerNormBackwardChunks = 32

/// Floats of scratch that layerNormBackward needs.
public func layerNormBackwardScratchCount(rows: Int, channels: Int) -> Int {
    2 * min(rows, layerNormBackwardChunks) * channels
}

/// out (N, C), mean (N), rstd (N) from inp (N, C), weight (C)?, bias (C)?. `out` may equal `inp`.
public func layerNormForward(_ out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                             rstd: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                             weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
                             rows: Int, channels c: Int, eps: Float = 1e-5) {
    Parallel.forRanges(rows, costPerItem: c * 3) { range in
        for r in range {
            let x = inp + r * c, o = out + r * c
            // Two passes over the row (it stays in L1): exact centring before squaring.
            var s0 = SIMD16<Float>(), s1 = s0
            var j = 0
            while j + 32 <= c { s0 += load16(x + j); s1 += load16(x + j + 16); j += 32 }
            if j + 16 <= c { s0 += load16(x + j); j += 16 }
            if j < c { s1 += loadPartial16(x + j, count: c - j) }
            let m = (s0 + s1).sum() / Float(c)
            var v0 = SIMD16<Float>(), v1 = v0
            j = 0
            while j + 32 <= c {
                let d0 = load16(x + j) - m, d1 = load16(x + j + 16) - m
                v0 += d0 * d0; v1 += d1 * d1
                j += 32
            }
            if j + 16 <= c { let d = load16(x + j) - m; v0 += d * d; j += 16 }
            if j < c {
                var d = loadPartial16(x + j, count: c - j) - m
                for k in (c - j)..<16 { d[k] = 0 }  // padded lanes would add m²
                v1 += d * d
            }
            let s = 1 / ((v0 + v1).sum() / Float(c) + eps).squareRoot()
            mean[r] = m
            rstd[r] = s
            j = 0
            switch (weight, bias) {
            case let (w?, b?):
                while j + 16 <= c { store16((load16(x + j) - m) * s * load16(w + j) + load16(b + j), o + j); j += 16 }
                while j < c { o[j] = (x[j] - m) * s * w[j] + b[j]; j += 1 }
            case let (w?, nil):
                while j + 16 <= c { store16((load16(x + j) - m) * s * load16(w + j), o + j); j += 16 }
                while j < c { o[j] = (x[j] - m) * s * w[j]; j += 1 }
            case let (nil, b?):
                while j + 16 <= c { store16((load16(x + j) - m) * s + load16(b + j), o + j); j += 16 }
                while j < c { o[j] = (x[j] - m) * s + b[j]; j += 1 }
            case (nil, nil):
                while j + 16 <= c { store16((load16(x + j) - m) * s, o + j); j += 16 }
                while j < c { o[j] = (x[j] - m) * s; j += 1 }
            }
        }
    }
}

/// dinp (N, C) += ∂L/∂inp (stored instead when `accumulateInput` is false); dweight (C) += Σ n·dout
/// and dbias (C) += Σ dout when given.
/// Differentiates `out = (x − mean)·rstd·weight + bias` with mean and rstd saved by the forward.
/// `scratch` holds layerNormBackwardScratchCount(rows:channels:) floats (contents are overwritten).
public func layerNormBackward(dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>?,
                              dbias: UnsafeMutablePointer<Float>?, scratch: UnsafeMutablePointer<Float>,
                              dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>?,
                              mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, rows: Int, channels c: Int,
                              accumulateInput: Bool = true) {
    guard rows > 0, c > 0 else { return }
    let chunks = min(rows, layerNormBackwardChunks)
    let wantParams = dweight != nil || dbias != nil
    let invC = 1 / Float(c)
    Parallel.forRanges(chunks, costPerItem: (rows / chunks) * c * 4) { chunkRange in
        for chunk in chunkRange {
            // This chunk's partial Σ n·dout and Σ dout, summed in row order.
            let pw = scratch + chunk * 2 * c, pb = pw + c
            if wantParams { pw.update(repeating: 0, count: 2 * c) }
            for r in Parallel.chunkRange(chunk, of: chunks, count: rows) {
                let x = inp + r * c, dy = dout + r * c
                let m = mean[r], s = rstd[r]
                // mean(g) and mean(g·n), g = weight·dout
                var a0 = SIMD16<Float>(), a1 = a0
                var j = 0
                if let w = weight {
                    while j + 16 <= c {
                        let g = load16(w + j) * load16(dy + j)
                        a0 += g; a1 += g * ((load16(x + j) - m) * s)
                        j += 16
                    }
                } else {
                    while j + 16 <= c {
                        let g = load16(dy + j)
                        a0 += g; a1 += g * ((load16(x + j) - m) * s)
                        j += 16
                    }
                }
                var gMean = a0.sum(), gnMean = a1.sum()
                while j < c {
                    let g = (weight?[j] ?? 1) * dy[j]
                    gMean += g; gnMean += g * ((x[j] - m) * s)
                    j += 1
                }
                gMean *= invC; gnMean *= invC
                j = 0
                if let dinp {
                    let dx = dinp + r * c
                    // dx += rstd·(g − mean(g) − n·mean(g·n)); without accumulation dx is stored
                    // (a fresh buffer may hold anything, even NaN, so it is never read then).
                    if let w = weight {
                        while j + 16 <= c {
                            let n = (load16(x + j) - m) * s
                            let g = load16(w + j) * load16(dy + j)
                            let d = s * (g - gMean - n * gnMean)
                            store16(accumulateInput ? load16(dx + j) + d : d, dx + j)
                            j += 16
                        }
                    } else {
                        while j + 16 <= c {
                            let n = (load16(x + j) - m) * s
                            let d = s * (load16(dy + j) - gMean - n * gnMean)
                            store16(accumulateInput ? load16(dx + j) + d : d, dx + j)
                            j += 16
                        }
                    }
                    while j < c {
                        let n = (x[j] - m) * s
                        let d = s * ((weight?[j] ?? 1) * dy[j] - gMean - n * gnMean)
                        dx[j] = accumulateInput ? dx[j] + d : d
                        j += 1
                    }
                }
                if wantParams {
                    j = 0
                    while j + 16 <= c {
                        let d = load16(dy + j)
                        store16(load16(pw + j) + (load16(x + j) - m) * s * d, pw + j)
                        store16(load16(pb + j) + d, pb + j)
                        j += 16
                    }
                    while j < c { pw[j] += (x[j] - m) * s * dy[j]; pb[j] += dy[j]; j += 1 }
                }
            }
        }
    }
    // Combine the chunks' partial sums in chunk order.
    if !wantParams { return }
    for chunk in 0..<chunks {
        let pw = scratch + chunk * 2 * c, pb = pw + c
        if let dw = dweight { for j in 0..<c { dw[j] += pw[j] } }
        if let db = dbias { for j in 0..<c { db[j] += pb[j] } }
    }
}

// MARK: - Reference (test oracle), in Double

public func layerNormForwardReference(_ out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                                      rstd: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                                      weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
                                      rows: Int, channels c: Int, eps: Float = 1e-5) {
    for r in 0..<rows {
        let x = inp + r * c
        var m = 0.0
        for j in 0..<c { m += Double(x[j]) }
        m /= Double(c)
        var v = 0.0
        for j in 0..<c { v += (Double(x[j]) - m) * (Double(x[j]) - m) }
        let s = 1 / (v / Double(c) + Double(eps)).squareRoot()
        mean[r] = Float(m)
        rstd[r] = Float(s)
        for j in 0..<c {
            let n = (Double(x[j]) - m) * s
            out[r * c + j] = Float(n * Double(weight?[j] ?? 1) + Double(bias?[j] ?? 0))
        }
    }
}

/// Backward from first principles (dx_j = Σ_k ∂out_k/∂x_j · dout_k, O(C²) per row), independent of
/// the closed form the optimised kernel uses.
public func layerNormBackwardReference(dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>?,
                                       dbias: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                                       inp: UnsafePointer<Float>, weight: UnsafePointer<Float>?,
                                       rows: Int, channels c: Int, eps: Float = 1e-5) {
    let cd = Double(c)
    for r in 0..<rows {
        let x = inp + r * c, dy = dout + r * c
        var m = 0.0
        for j in 0..<c { m += Double(x[j]) }
        m /= cd
        var v = 0.0
        for j in 0..<c { v += (Double(x[j]) - m) * (Double(x[j]) - m) }
        let s = 1 / (v / cd + Double(eps)).squareRoot()
        for k in 0..<c {
            let nk = (Double(x[k]) - m) * s
            if let dw = dweight { dw[k] = Float(Double(dw[k]) + nk * Double(dy[k])) }
            if let db = dbias { db[k] = Float(Double(db[k]) + Double(dy[k])) }
        }
        guard let dinp else { continue }
        for j in 0..<c {
            let nj = (Double(x[j]) - m) * s
            var acc = 0.0
            for k in 0..<c {
                // ∂n_k/∂x_j = s·(δ_kj − 1/C − n_k·n_j/C)
                let nk = (Double(x[k]) - m) * s
                let dn = s * ((k == j ? 1 : 0) - 1 / cd - nk * nj / cd)
                acc += dn * Double(weight?[k] ?? 1) * Double(dy[k])
            }
            dinp[r * c + j] = Float(Double(dinp[r * c + j]) + acc)
        }
    }
}
