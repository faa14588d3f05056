// Cross-entropy of (N, V) logits against one target id per row, fused with log-softmax:
//   loss[r] = logsumexp(logits[r, :]) − logits[r, target[r]]   (0 for rows whose target is ignoreIndex)
// Forward saves lse[r] = logsumexp (N floats), not the (N, V) probabilities: backward recomputes
//   dlogits[r, j] += scale·(e^(logits[r, j] − lse[r]) − [j == target[r]])
// with no one-hot, where scale = dloss/count for a mean. Targets are validated by the caller.
import Foundation

/// losses (N), lse (N) from logits (N, V) and targets (N). Ignored rows get loss 0 and lse 0.
public func crossEntropyForward(losses: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>,
                                logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>,
                                rows: Int, vocab v: Int, ignoreIndex: Int32 = -1) {
    Parallel.forRanges(rows, costPerItem: v * 2) { range in
        for r in range {
            let t = targets[r]
            if t == ignoreIndex { losses[r] = 0; lse[r] = 0; continue }
            let x = logits + r * v
            let m = rowMax(x, count: v)
            let l = m + log(expShiftSum(nil, x, count: v, shift: m))
            lse[r] = l
            losses[r] = l - x[Int(t)]
        }
    }
}

/// dlogits (N, V) += scale·(softmax(logits) − onehot(targets)) on non-ignored rows. With
/// `accumulate` false the rows are stored instead (ignored rows become 0).
/// Differentiates `loss[r] = lse[r] − logits[r, target[r]]`, each loss weighted by `scale`.
public func crossEntropyBackward(dlogits: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>,
                                 lse: UnsafePointer<Float>, targets: UnsafePointer<Int32>, scale: Float,
                                 rows: Int, vocab v: Int, ignoreIndex: Int32 = -1, accumulate: Bool = true) {
    Parallel.forRanges(rows, costPerItem: v * 2) { range in
        for r in range {
            let t = targets[r]
            let x = logits + r * v, d = dlogits + r * v
            if t == ignoreIndex {
                if !accumulate { d.update(repeating: 0, count: v) }
                continue
            }
            let shift = lse[r]
            var j = 0
            while j + 16 <= v {
                let g = scale * fastExp(load16(x + j) - shift)
                store16(accumulate ? load16(d + j) + g : g, d + j)
                j += 16
            }
            if j < v {
                let n = v - j
                let g = scale * fastExp(loadPartial16(x + j, count: n) - shift)
                storePartial16(accumulate ? loadPartial16(d + j, count: n) + g : g, d + j, count: n)
            }
            d[Int(t)] -= scale
        }
    }
}

/// The mean of the non-ignored rows' losses, summed in Double in row order (0 when every row is ignored).
public func crossEntropyMean(losses: UnsafePointer<Float>, targets: UnsafePointer<Int32>, rows: Int,
                             ignoreIndex: Int32 = -1) -> (mean: Float, count: Int) {
    var s = 0.0, n = 0
    for r in 0..<rows where targets[r] != ignoreIndex { s += Double(losses[r]); n += 1 }
    return (n == 0 ? 0 : Float(s / Double(n)), n)
}

// MARK: - Reference (test oracle), in Double

public func crossEntropyForwardReference(losses: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>,
                                         targets: UnsafePointer<Int32>, rows: Int, vocab v: Int,
                                         ignoreIndex: Int32 = -1) {
    for r in 0..<rows {
        let t = targets[r]
        if t == ignoreIndex { losses[r] = 0; continue }
        let x = logits + r * v
        var m = -Double.infinity
        for j in 0..<v { m = max(m, Double(x[j])) }
        var s = 0.0
        for j in 0..<v { s += exp(Double(x[j]) - m) }
        losses[r] = Float(m + log(s) - Double(x[Int(t)]))
    }
}

public func crossEntropyBackwardReference(dlogits: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>,
                                          targets: UnsafePointer<Int32>, scale: Float, rows: Int, vocab v: Int,
                                          ignoreIndex: Int32 = -1) {
    for r in 0..<rows {
        let t = targets[r]
        if t == ignoreIndex { continue }
        let x = logits + r * v
        var m = -Double.infinity
        for j in 0..<v { m = max(m, Double(x[j])) }
        var s = 0.0
        for j in 0..<v { s += exp(Double(x[j]) - m) }
        for j in 0..<v {
            let p = exp(Double(x[j]) - m) / s
            let g = Double(scale) * (p - (j == Int(t) ? 1 : 0))
            dlogits[r * v + j] = Float(Double(dlogits[r * v + j]) + g)
        }
    }
}
