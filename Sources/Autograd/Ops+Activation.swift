// Activations: gelu (GPT-2's tanh approximation) and softmax over the last axis.
//   gelu      geluForward     → geluBackward      (saves gelu'(input) when recording)
//   softmax   softmaxForward  → softmaxBackward   (saves the output)
import Kernels

/// GELU, tanh approximation (PyTorch's gelu(approximate="tanh")), element-wise.
public func gelu(_ x: Tensor) -> Tensor {
    Tape.operation(.gelu) { op in
        let out = Tensor(uninitialized: x.shape)
        guard Tape.isRecording && x.requiresGrad else {
            geluForward(out.data, x.data, count: x.count)
            return out
        }
        // Training: keep gelu'(x), so backward is one multiply (no exp or division).
        let derivative = Tensor(uninitialized: x.shape)
        geluForward(out.data, derivative: derivative.data, x.data, count: x.count)
        op.record(out, inputs: [x]) { [count = x.count] g in
            let (dx, accumulate) = x.gradForWrite()
            geluBackward(dx, derivative: derivative.data, g.data, count: count, accumulate: accumulate)
        }
        return out
    }
}

/// Softmax over the last axis (numerically stable: each row's maximum is subtracted first).
public func softmax(_ x: Tensor) -> Tensor {
    Tape.operation(.softmax) { op in
        precondition(x.rank >= 1, "softmax: needs rank ≥ 1, got shape \(x.shape)")
        let cols = x.lastDim, rows = cols == 0 ? 0 : x.count / cols
        let out = Tensor(uninitialized: x.shape)
        softmaxForward(out.data, x.data, rows: rows, cols: cols)
        op.record(out, inputs: [x]) { g in
            softmaxBackward(x.gradPointer(), out.data, g.data, rows: rows, cols: cols)
        }
        return out
    }
}
