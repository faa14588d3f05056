// Copies that change layout, forward and backward (backward accumulates):
//   heads:   (B, T, C) ⇄ (B, NH, T, hs), C = NH·hs (nanoGPT's view(B, T, NH, hs).transpose(1, 2))
//   columns: a column range of (R, C) ⇄ (R, n) (last-axis slice and concat)
//   rows:    gather rows of (N, C) by index; backward scatter-adds (an index may repeat)
// Parallel over rows (or over columns where rows may collide), with Parallel's fixed partition.

/// out (B, NH, T, hs) = inp (B, T, C) with head h's columns h·hs..<(h+1)·hs moved to its own plane.
public func splitHeadsForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                              B: Int, T: Int, NH: Int, hs: Int) {
    let C = NH * hs
    Parallel.forRanges(B * NH, costPerItem: T * hs) { r in
        for bh in r {
            let b = bh / NH, h = bh % NH
            let src = inp + b * T * C + h * hs, dst = out + bh * T * hs
            for t in 0..<T { (dst + t * hs).update(from: src + t * C, count: hs) }
        }
    }
}

/// dinp (B, T, C) += dout (B, NH, T, hs) moved back: the backward of `splitHeadsForward`.
public func splitHeadsBackward(_ dinp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                               B: Int, T: Int, NH: Int, hs: Int) {
    let C = NH * hs
    Parallel.forRanges(B * NH, costPerItem: T * hs) { r in
        for bh in r {
            let b = bh / NH, h = bh % NH
            let dst = dinp + b * T * C + h * hs, src = dout + bh * T * hs
            for t in 0..<T {
                let d = dst + t * C, s = src + t * hs
                for j in 0..<hs { d[j] += s[j] }
            }
        }
    }
}

/// out (B, T, C) = inp (B, NH, T, hs) with the heads side by side: the inverse of `splitHeadsForward`.
public func mergeHeadsForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                              B: Int, T: Int, NH: Int, hs: Int) {
    let C = NH * hs
    Parallel.forRanges(B * NH, costPerItem: T * hs) { r in
        for bh in r {
            let b = bh / NH, h = bh % NH
            let src = inp + bh * T * hs, dst = out + b * T * C + h * hs
            for t in 0..<T { (dst + t * C).update(from: src + t * hs, count: hs) }
        }
    }
}

/// dinp (B, NH, T, hs) += dout (B, T, C) split into heads: the backward of `mergeHeadsForward`.
public func mergeHeadsBackward(_ dinp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                               B: Int, T: Int, NH: Int, hs: Int) {
    let C = NH * hs
    Parallel.forRanges(B * NH, costPerItem: T * hs) { r in
        for bh in r {
            let b = bh / NH, h = bh % NH
            let dst = dinp + bh * T * hs, src = dout + b * T * C + h * hs
            for t in 0..<T {
                let d = dst + t * hs, s = src + t * C
                for j in 0..<hs { d[j] += s[j] }
            }
        }
    }
}

/// out (R, width) = inp (R, C)[:, start..<start + width].
public func sliceColumnsForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                                rows: Int, cols: Int, start: Int, width: Int) {
    precondition(start >= 0 && width >= 0 && start + width <= cols,
                 "sliceColumnsForward: columns \(start)..<\(start + width) outside 0..<\(cols)")
    Parallel.forRanges(rows, costPerItem: width) { r in
        for i in r { (out + i * width).update(from: inp + i * cols + start, count: width) }
    }
}

/// dinp (R, C)[:, start..<start + width] += dout (R, width): the backward of `sliceColumnsForward`.
public func sliceColumnsBackward(_ dinp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                                 rows: Int, cols: Int, start: Int, width: Int) {
    precondition(start >= 0 && width >= 0 && start + width <= cols,
                 "sliceColumnsBackward: columns \(start)..<\(start + width) outside 0..<\(cols)")
    Parallel.forRanges(rows, costPerItem: width) { r in
        for i in r {
            let d = dinp + i * cols + start, s = dout + i * width
            for j in 0..<width { d[j] += s[j] }
        }
    }
}

/// out (R, C)[:, start..<start + width] = inp (R, width): places one concat operand.
public func concatColumnsForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                                 rows: Int, cols: Int, start: Int, width: Int) {
    precondition(start >= 0 && width >= 0 && start + width <= cols,
                 "concatColumnsForward: columns \(start)..<\(start + width) outside 0..<\(cols)")
    Parallel.forRanges(rows, costPerItem: width) { r in
        for i in r { (out + i * cols + start).update(from: inp + i * width, count: width) }
    }
}

/// dinp (R, width) += dout (R, C)[:, start..<start + width]: the backward of `concatColumnsForward`.
public func concatColumnsBackward(_ dinp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                                  rows: Int, cols: Int, start: Int, width: Int) {
    precondition(start >= 0 && width >= 0 && start + width <= cols,
                 "concatColumnsBackward: columns \(start)..<\(start + width) outside 0..<\(cols)")
    Parallel.forRanges(rows, costPerItem: width) { r in
        for i in r {
            let d = dinp + i * width, s = dout + i * cols + start
            for j in 0..<width { d[j] += s[j] }
        }
    }
}

/// out (n, C)[i] = inp (N, C)[index[i]]. Indices must lie in 0..<N (the caller checks).
public func gatherRowsForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                              index: UnsafePointer<Int>, count n: Int, cols: Int) {
    Parallel.forRanges(n, costPerItem: cols) { r in
        for i in r { (out + i * cols).update(from: inp + index[i] * cols, count: cols) }
    }
}

/// dinp (N, C)[index[i]] += dout (n, C)[i]: the backward of `gatherRowsForward`. Repeated indices
/// accumulate in order of i; threads split the columns, never the rows, so they cannot collide.
public func gatherRowsBackward(_ dinp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                               index: UnsafePointer<Int>, count n: Int, cols: Int) {
    Parallel.forRanges(cols, costPerItem: n) { cr in
        for i in 0..<n {
            let d = dinp + index[i] * cols, s = dout + i * cols
            for j in cr { d[j] += s[j] }
        }
    }
}
