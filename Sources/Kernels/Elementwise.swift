// Element-wise arithmetic on flat buffers, with an optional trailing-vector broadcast
// (out (R, C) = a (R, C) op b (C)) as used by biases. Loops are simple enough for the
// auto-vectoriser; reductions over rows accumulate row by row so they vectorise across columns.

@inline(__always)
public func addForward(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                       rows: Int, cols: Int, bBroadcast: Bool) {
    Parallel.forRanges(rows, costPerItem: cols) { r in
        for i in r {
            let o = out + i * cols, x = a + i * cols, y = bBroadcast ? b : b + i * cols
            for j in 0..<cols { o[j] = x[j] + y[j] }
        }
    }
}

@inline(__always)
public func subForward(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                       rows: Int, cols: Int, bBroadcast: Bool) {
    Parallel.forRanges(rows, costPerItem: cols) { r in
        for i in r {
            let o = out + i * cols, x = a + i * cols, y = bBroadcast ? b : b + i * cols
            for j in 0..<cols { o[j] = x[j] - y[j] }
        }
    }
}

@inline(__always)
public func mulForward(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                       rows: Int, cols: Int, bBroadcast: Bool) {
    Parallel.forRanges(rows, costPerItem: cols) { r in
        for i in r {
            let o = out + i * cols, x = a + i * cols, y = bBroadcast ? b : b + i * cols
            for j in 0..<cols { o[j] = x[j] * y[j] }
        }
    }
}

/// p[0..<count] = 0, split over the threads.
public func fillZero(_ p: UnsafeMutablePointer<Float>, count: Int) {
    Parallel.forRanges(count, minWork: 1 << 18) { r in (p + r.lowerBound).update(repeating: 0, count: r.count) }
}

/// dst[i] += alpha * src[i]
@inline(__always)
public func axpy(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, count: Int, alpha: Float = 1) {
    Parallel.forRanges(count, minWork: 1 << 16) { r in
        for i in r { dst[i] += alpha * src[i] }
    }
}

/// dst[i] += alpha * src[i], or dst[i] = alpha * src[i] when `accumulate` is false (a gradient
/// buffer that was not zero-filled).
@inline(__always)
public func axpyOrAssign(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, count: Int,
                         alpha: Float = 1, accumulate: Bool) {
    if accumulate { axpy(dst, src, count: count, alpha: alpha) }
    else if alpha == 1 { dst.update(from: src, count: count) }
    else { scaleShift(dst, src, count: count, scale: alpha, shift: 0) }
}

/// dst[i] += alpha * a[i] * b[i]
@inline(__always)
public func addProduct(_ dst: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                       count: Int, alpha: Float = 1) {
    Parallel.forRanges(count, minWork: 1 << 16) { r in
        for i in r { dst[i] += alpha * a[i] * b[i] }
    }
}

/// out[i] = a[i] * s + t
@inline(__always)
public func scaleShift(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, count: Int, scale: Float,
                       shift: Float) {
    Parallel.forRanges(count, minWork: 1 << 16) { r in
        for i in r { out[i] = a[i] * scale + shift }
    }
}

/// dst (C) += alpha * Σ_rows src (R, C). Serial over rows, so the summation order is fixed.
@inline(__always)
public func addColumnSums(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, rows: Int, cols: Int,
                          alpha: Float = 1) {
    for i in 0..<rows {
        let s = src + i * cols
        for j in 0..<cols { dst[j] += alpha * s[j] }
    }
}

/// dst (C) += Σ_rows a (R, C) * b (R, C): the gradient of a broadcast vector factor.
@inline(__always)
public func addColumnProductSums(_ dst: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>,
                                 _ b: UnsafePointer<Float>, rows: Int, cols: Int) {
    for i in 0..<rows {
        let x = a + i * cols, y = b + i * cols
        for j in 0..<cols { dst[j] += x[j] * y[j] }
    }
}

/// Sum of `count` floats in Double with a fixed order (8 interleaved partial sums).
public func sumDouble(_ p: UnsafePointer<Float>, count: Int) -> Double {
    var acc = SIMD8<Double>()
    var i = 0
    while i + 8 <= count {
        acc += SIMD8<Double>(Double(p[i]), Double(p[i + 1]), Double(p[i + 2]), Double(p[i + 3]),
                             Double(p[i + 4]), Double(p[i + 5]), Double(p[i + 6]), Double(p[i + 7]))
        i += 8
    }
    var s = acc.sum()
    while i < count { s += Double(p[i]); i += 1 }
    return s
}
