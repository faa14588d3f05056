// Cross-entropy loss, fused with log-softmax (no one-hot, no stored probabilities).
//   crossEntropy   crossEntropyForward → crossEntropyBackward   (saves logits' reference and per-row logsumexp)
import Kernels

/// Mean cross-entropy of logits (…, V) against one target per row (targets.count = number of rows).
/// Rows whose target is `ignoreIndex` are skipped; the result is 0 when every row is ignored.
/// Returns a scalar (shape []).
public func crossEntropy(_ logits: Tensor, targets: [Int32], ignoreIndex: Int32 = -1) -> Tensor {
    Tape.operation(.crossEntropy) { op in
        precondition(logits.rank >= 1 && logits.lastDim > 0,
                     "crossEntropy: logits need shape (…, V) with V > 0, got \(logits.shape)")
        let v = logits.lastDim, rows = logits.count / v
        precondition(targets.count == rows,
                     "crossEntropy: \(targets.count) targets for logits \(logits.shape) (expected \(rows), one per "
                     + "row)")
        for (r, t) in targets.enumerated() where t != ignoreIndex {
            precondition(t >= 0 && Int(t) < v,
                         "crossEntropy: target \(t) at row \(r) is out of range for vocabulary size \(v) (ignoreIndex "
                         + "\(ignoreIndex))")
        }
        let losses = Tensor(uninitialized: [rows]), lse = Tensor(uninitialized: [rows])  // (B·T) each
        let (mean, count) = targets.withUnsafeBufferPointer { t -> (Float, Int) in
            guard let tp = t.baseAddress else { return (0, 0) }
            crossEntropyForward(losses: losses.data, lse: lse.data, logits: logits.data, targets: tp,
                                rows: rows, vocab: v, ignoreIndex: ignoreIndex)
            return crossEntropyMean(losses: losses.data, targets: tp, rows: rows, ignoreIndex: ignoreIndex)
        }
        let out = Tensor([mean], shape: [])
        if count == 0 { return out }  // constant 0: nothing to differentiate
        op.record(out, inputs: [logits]) { g in
            let scale = g.data[0] / Float(count)
            targets.withUnsafeBufferPointer { t in
                let (d, accumulate) = logits.gradForWrite()
                crossEntropyBackward(dlogits: d, logits: logits.data, lse: lse.data, targets: t.baseAddress!,
                                     scale: scale, rows: rows, vocab: v, ignoreIndex: ignoreIndex,
                                     accumulate: accumulate)
            }
        }
        return out
    }
}
