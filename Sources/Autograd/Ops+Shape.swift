// Shape ops that copy: splitHeads / mergeHeads ((B, T, C) ⇄ (B, NH, T, hs)), last-axis slice and
// concat, and selectRows (gather rows; backward scatter-adds). Kernels in Kernels/Layout.swift.
import Kernels

/// (B, T, C) → (B, NH, T, hs) with hs = C / heads: nanoGPT's view(B, T, NH, hs).transpose(1, 2), copied.
public func splitHeads(_ x: Tensor, heads: Int) -> Tensor {
    Tape.operation(.layout) { op in
        precondition(x.rank == 3 && heads > 0 && x.lastDim % heads == 0,
                     "splitHeads: input must be (B, T, C) with C divisible by heads=\(heads), got \(x.shape)")
        let B = x.shape[0], T = x.shape[1], hs = x.lastDim / heads
        let out = Tensor(uninitialized: [B, heads, T, hs])
        splitHeadsForward(out.data, x.data, B: B, T: T, NH: heads, hs: hs)
        op.record(out, inputs: [x]) { g in
            splitHeadsBackward(x.gradPointer(), g.data, B: B, T: T, NH: heads, hs: hs)
        }
        return out
    }
}

/// (B, NH, T, hs) → (B, T, NH·hs): the inverse of `splitHeads`.
public func mergeHeads(_ x: Tensor) -> Tensor {
    Tape.operation(.layout) { op in
        precondition(x.rank == 4, "mergeHeads: input must be (B, NH, T, hs), got \(x.shape)")
        let B = x.shape[0], NH = x.shape[1], T = x.shape[2], hs = x.shape[3]
        let out = Tensor(uninitialized: [B, T, NH * hs])
        mergeHeadsForward(out.data, x.data, B: B, T: T, NH: NH, hs: hs)
        op.record(out, inputs: [x]) { g in
            mergeHeadsBackward(x.gradPointer(), g.data, B: B, T: T, NH: NH, hs: hs)
        }
        return out
    }
}

/// x[…, range]: a copy of a column range of the last axis.
public func slice(_ x: Tensor, lastAxis range: Range<Int>) -> Tensor {
    Tape.operation(.layout) { op in
        precondition(x.rank >= 1 && range.lowerBound >= 0 && range.upperBound <= x.lastDim,
                     "slice: range \(range) outside the last axis of \(x.shape)")
        let cols = x.lastDim, rows = cols == 0 ? 0 : x.count / cols
        let out = Tensor(uninitialized: Array(x.shape.dropLast()) + [range.count])
        sliceColumnsForward(out.data, x.data, rows: rows, cols: cols, start: range.lowerBound, width: range.count)
        op.record(out, inputs: [x]) { g in
            sliceColumnsBackward(x.gradPointer(), g.data, rows: rows, cols: cols, start: range.lowerBound,
                                 width: range.count)
        }
        return out
    }
}

/// Concatenation along the last axis; all inputs share their leading dimensions.
public func concat(lastAxis xs: [Tensor]) -> Tensor {
    Tape.operation(.layout) { op in
        precondition(!xs.isEmpty, "concat: no inputs")
        let lead = Array(xs[0].shape.dropLast())
        precondition(xs.allSatisfy { $0.rank >= 1 && Array($0.shape.dropLast()) == lead },
                     "concat: leading dimensions differ: \(xs.map(\.shape))")
        let rows = lead.reduce(1, *)
        let widths = xs.map(\.lastDim)
        let cols = widths.reduce(0, +)
        let out = Tensor(uninitialized: lead + [cols])
        var starts: [Int] = []
        var start = 0
        for (x, w) in zip(xs, widths) {
            starts.append(start)
            concatColumnsForward(out.data, x.data, rows: rows, cols: cols, start: start, width: w)
            start += w
        }
        op.record(out, inputs: xs) { g in
            for (i, x) in xs.enumerated() where x.requiresGrad {
                concatColumnsBackward(x.gradPointer(), g.data, rows: rows, cols: cols, start: starts[i],
                                      width: widths[i])
            }
        }
        return out
    }
}

/// Rows of x viewed as (N, C) with C its last axis: out (rows.count, C), out[i] = x[rows[i]].
/// Backward scatter-adds, so a row selected twice receives both gradients.
public func selectRows(_ x: Tensor, rows: [Int]) -> Tensor {
    Tape.operation(.layout) { op in
        precondition(x.rank >= 1, "selectRows: input must have rank ≥ 1, got \(x.shape)")
        let cols = x.lastDim, n = x.shape.dropLast().reduce(1, *)
        if let bad = rows.first(where: { $0 < 0 || $0 >= n }) {
            preconditionFailure("selectRows: row \(bad) outside 0..<\(n) for input \(x.shape) viewed as (\(n), "
                                + "\(cols))")
        }
        let out = Tensor(uninitialized: [rows.count, cols])
        rows.withUnsafeBufferPointer { idx in
            if let p = idx.baseAddress { gatherRowsForward(out.data, x.data, index: p, count: rows.count, cols: cols) }
        }
        op.record(out, inputs: [x]) { g in
            rows.withUnsafeBufferPointer { idx in
                if let p = idx.baseAddress {
                    gatherRowsBackward(x.gradPointer(), g.data, index: p, count: rows.count, cols: cols)
                }
            }
        }
        return out
    }
}
