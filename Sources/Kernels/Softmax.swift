// Softmax over the last axis of (R, C) rows, numerically stable (the row maximum is subtracted):
//   y[r, j] = e^(x[r, j] − max_r) / Σ_k e^(x[r, k] − max_r)
// Backward: dx = y ⊙ (dy − Σ_k dy_k·y_k). The row helpers (rowMax, expShiftSum) also serve
// cross-entropy and attention. Rows are independent, so rows are split across threads.
import Foundation

/// max_j x[j] over one row, in SIMD16 lanes (NaNs are skipped; the exponentials then carry them).
@inline(__always)
public func rowMax(_ x: UnsafePointer<Float>, count n: Int) -> Float {
    var m0 = SIMD16<Float>(repeating: -.infinity), m1 = m0
    var i = 0
    while i + 32 <= n {
        m0 = lanesMax(m0, load16(x + i))
        m1 = lanesMax(m1, load16(x + i + 16))
        i += 32
    }
    if i + 16 <= n { m0 = lanesMax(m0, load16(x + i)); i += 16 }
    if i < n { m1 = lanesMax(m1, loadPartial16(x + i, count: n - i, fill: -.infinity)) }
    return lanesMax(m0, m1).max()
}

/// Σ_j e^(x[j] − shift); when `out` is given also stores each e^(x[j] − shift) there.
@inline(__always)
public func expShiftSum(_ out: UnsafeMutablePointer<Float>?, _ x: UnsafePointer<Float>, count n: Int,
                        shift: Float) -> Float {
    var s0 = SIMD16<Float>(), s1 = s0
    var i = 0
    if let out {
        while i + 32 <= n {
            let e0 = fastExp(load16(x + i) - shift), e1 = fastExp(load16(x + i + 16) - shift)
            store16(e0, out + i); store16(e1, out + i + 16)
            s0 += e0; s1 += e1
            i += 32
        }
        if i + 16 <= n { let e = fastExp(load16(x + i) - shift); store16(e, out + i); s0 += e; i += 16 }
        if i < n {
            let e = fastExp(loadPartial16(x + i, count: n - i, fill: -.infinity) - shift)
            storePartial16(e, out + i, count: n - i)
            s1 += e
        }
    } else {
        while i + 32 <= n {
            s0 += fastExp(load16(x + i) - shift)
            s1 += fastExp(load16(x + i + 16) - shift)
            i += 32
        }
        if i + 16 <= n { s0 += fastExp(load16(x + i) - shift); i += 16 }
        if i < n { s1 += fastExp(loadPartial16(x + i, count: n - i, fill: -.infinity) - shift) }
    }
    return (s0 + s1).sum()
}

/// Σ_j a[j]·b[j] over one row.
@inline(__always)
public func rowDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count n: Int) -> Float {
    var s0 = SIMD16<Float>(), s1 = s0
    var i = 0
    while i + 32 <= n {
        s0 += load16(a + i) * load16(b + i)
        s1 += load16(a + i + 16) * load16(b + i + 16)
        i += 32
    }
    if i + 16 <= n { s0 += load16(a + i) * load16(b + i); i += 16 }
    if i < n { s1 += loadPartial16(a + i, count: n - i) * loadPartial16(b + i, count: n - i) }
    return (s0 + s1).sum()
}

/// out[j] = x[j] · s over one row (out may equal x).
@inline(__always)
public func rowScale(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count n: Int, by s: Float) {
    var i = 0
    while i + 16 <= n { store16(load16(x + i) * s, out + i); i += 16 }
    while i < n { out[i] = x[i] * s; i += 1 }
}

/// One softmax row: out (C) = softmax(x (C)). `out` may equal `x`.
@inline(__always)
public func softmaxRow(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count n: Int) {
    let m = rowMax(x, count: n)
    let s = expShiftSum(out, x, count: n, shift: m)
    rowScale(out, out, count: n, by: 1 / s)
}

/// out (R, C) = softmax(inp (R, C)) along C. `out` may equal `inp`.
public func softmaxForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, rows: Int, cols: Int) {
    Parallel.forRanges(rows, costPerItem: cols * 4) { range in
        for r in range { softmaxRow(out + r * cols, inp + r * cols, count: cols) }
    }
}

/// dinp (R, C) += y ⊙ (dout − Σ dout·y) per row, where y = out of softmaxForward.
public func softmaxBackward(_ dinp: UnsafeMutablePointer<Float>, _ out: UnsafePointer<Float>,
                            _ dout: UnsafePointer<Float>,
                            rows: Int, cols: Int) {
    Parallel.forRanges(rows, costPerItem: cols * 2) { range in
        for r in range {
            let y = out + r * cols, dy = dout + r * cols, dx = dinp + r * cols
            let dot = rowDot(dy, y, count: cols)
            var j = 0
            while j + 16 <= cols {
                store16(load16(dx + j) + load16(y + j) * (load16(dy + j) - dot), dx + j)
                j += 16
            }
            while j < cols { dx[j] += y[j] * (dy[j] - dot); j += 1 }
        }
    }
}

// MARK: - Reference (test oracle), in Double

public func softmaxForwardReference(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, rows: Int,
                                    cols: Int) {
    for r in 0..<rows {
        let x = inp + r * cols
        var m = -Double.infinity
        for j in 0..<cols { m = max(m, Double(x[j])) }
        var s = 0.0
        for j in 0..<cols { s += exp(Double(x[j]) - m) }
        for j in 0..<cols { out[r * cols + j] = Float(exp(Double(x[j]) - m) / s) }
    }
}

public func softmaxBackwardReference(_ dinp: UnsafeMutablePointer<Float>, _ out: UnsafePointer<Float>,
                                     _ dout: UnsafePointer<Float>, rows: Int, cols: Int) {
    for r in 0..<rows {
        let y = out + r * cols, dy = dout + r * cols
        var dot = 0.0
        for j in 0..<cols { dot += Double(dy[j]) * Double(y[j]) }
        for j in 0..<cols {
            dinp[r * cols + j] = Float(Double(dinp[r * cols + j]) + Double(y[j]) * (Double(dy[j]) - dot))
        }
    }
}
