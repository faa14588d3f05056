// Element-wise add, subtract and multiply: equal shapes, a trailing-dimension vector broadcast over
// rows (biases: (…, C) op (C)), or a one-element tensor broadcast over everything; and scalar forms.
import Kernels

/// How `b` lines up with `a`: `cols` is the length of the repeating block `b` covers.
private func broadcastCols(_ a: Tensor, _ b: Tensor, op: String) -> (rows: Int, cols: Int, broadcast: Bool) {
    if a.shape == b.shape { return (1, a.count, false) }
    if b.count == 1 { return (a.count, 1, true) }
    precondition(b.rank == 1 && b.shape[0] == a.lastDim,
                 "\(op): cannot broadcast \(b.shape) against \(a.shape) (need equal shapes, (\(a.lastDim)) or one "
                 + "element)")
    return (a.count / max(a.lastDim, 1), a.lastDim, true)
}

private enum BinaryOp { case add, sub, mul }

private func binary(_ a: Tensor, _ b: Tensor, _ kind: BinaryOp, name: String) -> Tensor {
    Tape.operation(.elementwise) { op in
        let (rows, cols, bc) = broadcastCols(a, b, op: name)
        let out = Tensor(uninitialized: a.shape)
        switch kind {
        case .add: addForward(out.data, a.data, b.data, rows: rows, cols: cols, bBroadcast: bc)
        case .sub: subForward(out.data, a.data, b.data, rows: rows, cols: cols, bBroadcast: bc)
        case .mul: mulForward(out.data, a.data, b.data, rows: rows, cols: cols, bBroadcast: bc)
        }
        op.record(out, inputs: [a, b]) { g in
            if a.requiresGrad && kind == .mul {
                // d(a·b)/da = b (broadcast): da += g · b
                let da = a.gradPointer()
                if bc {
                    for r in 0..<rows {
                        let o = da + r * cols, gg = g.data + r * cols
                        for j in 0..<cols { o[j] += gg[j] * b.data[cols == 1 ? 0 : j] }
                    }
                } else { addProduct(da, g.data, b.data, count: a.count) }
            }
            if b.requiresGrad {
                let sign: Float = kind == .sub ? -1 : 1
                switch kind {
                case .add where !bc, .sub where !bc:
                    let (db, accumulate) = b.gradForWrite()
                    axpyOrAssign(db, g.data, count: b.count, alpha: sign, accumulate: accumulate)
                case .add, .sub:
                    let db = b.gradPointer()
                    if cols == 1 { db[0] += sign * Float(sumDouble(g.data, count: g.count)) }
                    else { addColumnSums(db, g.data, rows: rows, cols: cols, alpha: sign) }
                case .mul:
                    let db = b.gradPointer()
                    if !bc { addProduct(db, g.data, a.data, count: b.count) }
                    else if cols == 1 {
                        var s = 0.0
                        for i in 0..<a.count { s += Double(g.data[i]) * Double(a.data[i]) }
                        db[0] += Float(s)
                    } else { addColumnProductSums(db, g.data, a.data, rows: rows, cols: cols) }
                }
            }
            // Last: for add and sub, a may take g itself (see receiveGradient), and b's gradient above
            // has finished reading it.
            if a.requiresGrad && kind != .mul { a.receiveGradient(g) }
        }
        return out
    }
}

public func + (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .add, name: "add") }
public func - (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .sub, name: "sub") }
public func * (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .mul, name: "mul") }

/// a·scale + shift with constant scalars.
public func affine(_ a: Tensor, scale: Float, shift: Float = 0) -> Tensor {
    Tape.operation(.elementwise) { op in
        let out = Tensor(uninitialized: a.shape)
        scaleShift(out.data, a.data, count: a.count, scale: scale, shift: shift)
        op.record(out, inputs: [a]) { g in
            let (da, accumulate) = a.gradForWrite()
            axpyOrAssign(da, g.data, count: a.count, alpha: scale, accumulate: accumulate)
        }
        return out
    }
}

public func * (a: Tensor, s: Float) -> Tensor { affine(a, scale: s) }
public func * (s: Float, a: Tensor) -> Tensor { affine(a, scale: s) }
public func + (a: Tensor, s: Float) -> Tensor { affine(a, scale: 1, shift: s) }
public func - (a: Tensor, s: Float) -> Tensor { affine(a, scale: 1, shift: -s) }
public func / (a: Tensor, s: Float) -> Tensor { affine(a, scale: 1 / s) }
