// Layer normalisation over the last axis with optional affine weight and bias (PyTorch semantics:
// biased variance, eps inside the square root).
//   layerNorm   layerNormForward → layerNormBackward   (saves input, per-row mean and rstd)
import Kernels

/// LayerNorm over the last axis of x (…, C); weight and bias are (C) or nil.
public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) -> Tensor {
    Tape.operation(.layerNorm) { op in
        precondition(x.rank >= 1, "layerNorm: needs rank ≥ 1, got shape \(x.shape)")
        let c = x.lastDim, rows = c == 0 ? 0 : x.count / c
        if let weight {
            precondition(weight.shape == [c],
                         "layerNorm: weight \(weight.shape) does not match input \(x.shape) (expected [\(c)])")
        }
        if let bias {
            precondition(bias.shape == [c],
                         "layerNorm: bias \(bias.shape) does not match input \(x.shape) (expected [\(c)])")
        }
        let out = Tensor(uninitialized: x.shape)
        let mean = Tensor(uninitialized: [rows]), rstd = Tensor(uninitialized: [rows])  // (B·T) each
        layerNormForward(out.data, mean: mean.data, rstd: rstd.data, x.data, weight: weight?.data, bias: bias?.data,
                         rows: rows, channels: c, eps: eps)
        var inputs = [x]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        op.record(out, inputs: inputs) { g in
            let scratch = Tensor(uninitialized: [layerNormBackwardScratchCount(rows: rows, channels: c)])
            let dx = x.requiresGrad ? x.gradForWrite() : nil
            layerNormBackward(dinp: dx?.pointer,
                              dweight: weight.flatMap { $0.requiresGrad ? $0.gradPointer() : nil },
                              dbias: bias.flatMap { $0.requiresGrad ? $0.gradPointer() : nil },
                              scratch: scratch.data, dout: g.data, inp: x.data, weight: weight?.data,
                              mean: mean.data, rstd: rstd.data, rows: rows, channels: c,
                              accumulateInput: dx?.accumulate ?? true)
        }
        return out
    }
}
