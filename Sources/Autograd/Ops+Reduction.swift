// Whole-tensor reductions to a scalar: sum and mean (accumulated in Double, fixed order).
import Kernels

public func sum(_ a: Tensor) -> Tensor {
    Tape.operation(.reduction) { op in
        let out = Tensor([Float(sumDouble(a.data, count: a.count))], shape: [])
        op.record(out, inputs: [a]) { g in
            let d = a.gradPointer(), v = g.data[0]
            for i in 0..<a.count { d[i] += v }
        }
        return out
    }
}

public func mean(_ a: Tensor) -> Tensor {
    Tape.operation(.reduction) { op in
        precondition(a.count > 0, "mean: empty tensor of shape \(a.shape)")
        let n = Float(a.count)
        let out = Tensor([Float(sumDouble(a.data, count: a.count) / Double(a.count))], shape: [])
        op.record(out, inputs: [a]) { g in
            let d = a.gradPointer(), v = g.data[0] / n
            for i in 0..<a.count { d[i] += v }
        }
        return out
    }
}
