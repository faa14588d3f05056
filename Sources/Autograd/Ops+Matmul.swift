// Matrix products: matmul (2-D and batched, optional transposes) and linear (x·Wᵀ + b).
// Forward and backward are sgemm calls with the right transposes; nothing is transposed in memory.
import Kernels

/// op(A)·op(B) for one stored matrix pair; shapes of the stored operands in `(rows, cols)`.
private struct GemmShape {
    let m: Int, n: Int, k: Int
    let aCols: Int, bCols: Int  // row strides of stored A and B
}

private func gemmShape(_ a: [Int], _ b: [Int], transA: Bool, transB: Bool, op: String) -> GemmShape {
    let (ar, ac) = (a[a.count - 2], a[a.count - 1])
    let (br, bc) = (b[b.count - 2], b[b.count - 1])
    let (m, ka) = transA ? (ac, ar) : (ar, ac)
    let (kb, n) = transB ? (bc, br) : (br, bc)
    precondition(ka == kb, "\(op): inner dimensions differ: \(a)\(transA ? "ᵀ" : "") · \(b)\(transB ? "ᵀ" : "")")
    return GemmShape(m: m, n: n, k: ka, aCols: ac, bCols: bc)
}

/// Matrix product op(a)·op(b). `a` is (…, M, K) and `b` is (…, K, N) with equal leading dimensions,
/// or `b` is 2-D and shared across `a`'s leading dimensions. Transposes swap the last two axes.
public func matmul(_ a: Tensor, _ b: Tensor, transA: Bool = false, transB: Bool = false) -> Tensor {
    Tape.operation(.matmul) { op in
        precondition(a.rank >= 2 && b.rank >= 2, "matmul: needs rank ≥ 2, got \(a.shape) and \(b.shape)")
        let s = gemmShape(a.shape, b.shape, transA: transA, transB: transB, op: "matmul")
        let lead = Array(a.shape.dropLast(2))
        let sharedB = b.rank == 2
        precondition(sharedB || Array(b.shape.dropLast(2)) == lead,
                     "matmul: batch dimensions differ: \(a.shape) and \(b.shape)")
        let batch = lead.reduce(1, *)
        let out = Tensor(uninitialized: lead + [s.m, s.n])
        let sa = a.shape[a.rank - 2] * s.aCols, sb = sharedB ? 0 : b.shape[b.rank - 2] * s.bCols
        let sc = s.m * s.n
        if sharedB && !transA {
            // (batch·M, K) · op(B): one large product.
            sgemm(transA: false, transB: transB, m: batch * s.m, n: s.n, k: s.k,
                  a: a.data, lda: s.aCols, b: b.data, ldb: s.bCols, c: out.data, ldc: s.n)
        } else {
            sgemmStridedBatched(batch: batch, transA: transA, transB: transB, m: s.m, n: s.n, k: s.k,
                                a: a.data, lda: s.aCols, strideA: sa, b: b.data, ldb: s.bCols, strideB: sb,
                                c: out.data, ldc: s.n, strideC: sc)
        }
        op.record(out, inputs: [a, b]) { g in
            let m = s.m, n = s.n, k = s.k
            if a.requiresGrad {
                // Every element of dA is written once (one product per batch entry), so a fresh gradient
                // buffer is stored into (beta 0) rather than zero-filled and added to.
                let (da, accumulate) = a.gradForWrite()
                let beta: Float = accumulate ? 1 : 0
                // d op(A) = dC · op(B)ᵀ ; stored dA is that, or its transpose when transA.
                if !transA {
                    if sharedB {
                        sgemm(transA: false, transB: !transB, m: batch * m, n: k, k: n,
                              a: g.data, lda: n, b: b.data, ldb: s.bCols, beta: beta, c: da, ldc: s.aCols)
                    } else {
                        sgemmStridedBatched(batch: batch, transA: false, transB: !transB, m: m, n: k, k: n,
                                            a: g.data, lda: n, strideA: sc, b: b.data, ldb: s.bCols, strideB: sb,
                                            beta: beta, c: da, ldc: s.aCols, strideC: sa)
                    }
                } else {
                    // dA (K, M) = op(B) · dCᵀ
                    sgemmStridedBatched(batch: batch, transA: transB, transB: true, m: k, n: m, k: n,
                                        a: b.data, lda: s.bCols, strideA: sb, b: g.data, ldb: n, strideB: sc,
                                        beta: beta, c: da, ldc: s.aCols, strideC: sa)
                }
            }
            if b.requiresGrad {
                let db = b.gradPointer()
                if !transB {
                    // dB (K, N) = op(A)ᵀ · dC
                    if sharedB && !transA {
                        sgemm(transA: true, transB: false, m: k, n: n, k: batch * m,
                              a: a.data, lda: s.aCols, b: g.data, ldb: n, beta: 1, c: db, ldc: s.bCols)
                    } else {
                        sgemmStridedBatched(batch: batch, transA: !transA, transB: false, m: k, n: n, k: m,
                                            a: a.data, lda: s.aCols, strideA: sa, b: g.data, ldb: n, strideB: sc,
                                            beta: 1, c: db, ldc: s.bCols, strideC: sb)
                    }
                } else {
                    // dB (N, K) = dCᵀ · op(A)
                    if sharedB && !transA {
                        sgemm(transA: true, transB: false, m: n, n: k, k: batch * m,
                              a: g.data, lda: n, b: a.data, ldb: s.aCols, beta: 1, c: db, ldc: s.bCols)
                    } else {
                        sgemmStridedBatched(batch: batch, transA: true, transB: transA, m: n, n: k, k: m,
                                            a: g.data, lda: n, strideA: sc, b: a.data, ldb: s.aCols, strideB: sa,
                                            beta: 1, c: db, ldc: s.bCols, strideC: sb)
                    }
                }
            }
        }
        return out
    }
}

/// y = x·Wᵀ + b over any leading dimensions: x (…, in), weight (out, in), bias (out).
/// With `residual` (same shape as y), returns residual + x·Wᵀ + b: the product accumulates onto a
/// copy of the residual (sgemm with beta 1), which saves the separate add pass of `residual + linear(…)`
/// and, in backward, hands the output gradient to the residual without a copy.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, residual: Tensor? = nil) -> Tensor {
    linear(x, weight: weight, bias: bias, residual: residual, recording: true)
}

/// `linear` without its tape entry when `recording` is false (for ops that record their own).
private func linear(_ x: Tensor, weight: Tensor, bias: Tensor?, residual: Tensor? = nil, recording: Bool) -> Tensor {
    Tape.operation(.linear) { op in
        precondition(weight.rank == 2 && x.rank >= 1 && x.lastDim == weight.shape[1],
                     "linear: input \(x.shape) does not match weight \(weight.shape) (expected (…, "
                     + "\(weight.rank == 2 ? weight.shape[1] : -1)))")
        let outF = weight.shape[0], inF = weight.shape[1]
        if let bias {
            precondition(bias.shape == [outF], "linear: bias \(bias.shape) does not match weight \(weight.shape)")
        }
        let rows = x.count / max(inF, 1)
        let outShape = Array(x.shape.dropLast()) + [outF]
        if let residual {
            precondition(residual.shape == outShape,
                         "linear: residual \(residual.shape) does not match output \(outShape)")
        }
        let out = Tensor(uninitialized: outShape)
        if let residual {
            if let bias { addForward(out.data, residual.data, bias.data, rows: rows, cols: outF, bBroadcast: true) }
            else { out.data.update(from: residual.data, count: out.count) }
        } else if let bias {
            for r in 0..<rows { (out.data + r * outF).update(from: bias.data, count: outF) }
        }
        sgemm(transA: false, transB: true, m: rows, n: outF, k: inF, a: x.data, lda: inF, b: weight.data, ldb: inF,
              beta: bias == nil && residual == nil ? 0 : 1, c: out.data, ldc: outF)
        if !recording { return out }
        var inputs = [x, weight]
        if let bias { inputs.append(bias) }
        if let residual { inputs.append(residual) }
        op.record(out, inputs: inputs) { g in
            linearBackward(g, x: x, weight: weight, bias: bias)
            // Last, because it may hand g itself to the residual, which later backward steps add into.
            if let residual, residual.requiresGrad { residual.receiveGradient(g) }
        }
        return out
    }
}

/// gelu(x·Wᵀ + b) (GPT-2's tanh GELU) as one op, for an MLP's first layer: the activation runs in
/// place on the product, and a training forward saves gelu'(x·Wᵀ + b) in place of the
/// pre-activation, which is never kept. Backward forms the pre-activation gradient in the output
/// gradient's own buffer (no consumer reads it after this op's backward), then runs linear's backward.
/// Same values as `gelu(linear(x, weight: weight, bias: bias))`, with one saved buffer fewer.
public func linearGELU(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
    let out = linear(x, weight: weight, bias: bias, recording: false)
    // The product's forward is timed as linear (above), the activation's as gelu; the tape entry is
    // filed under linear, whose two products are most of its backward.
    return Tape.operation(.gelu) { _ in
        let n = out.count
        let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
        guard Tape.isRecording && inputs.contains(where: { $0.requiresGrad }) else {
            geluForward(out.data, out.data, count: n)
            return out
        }
        let derivative = Tensor(uninitialized: out.shape)
        geluForward(out.data, derivative: derivative.data, out.data, count: n)
        Tape.record(out, inputs: inputs, op: .linear) { g in
            geluBackward(g.data, derivative: derivative.data, g.data, count: n, accumulate: false)
            linearBackward(g, x: x, weight: weight, bias: bias)
        }
        return out
    }
}

/// The gradients of y = x·Wᵀ + b given dy = g: dx += g·W, dW += gᵀ·x, db += Σ_rows g.
private func linearBackward(_ g: Tensor, x: Tensor, weight: Tensor, bias: Tensor?) {
    let outF = weight.shape[0], inF = weight.shape[1]
    let rows = x.count / max(inF, 1)
    // dx (rows, in) += dy · W and dW (out, in) += dyᵀ · x are independent: run them as a pair.
    var dxProduct: MatrixProduct?, dwProduct: MatrixProduct?
    if x.requiresGrad {
        let (dx, accumulate) = x.gradForWrite()
        dxProduct = MatrixProduct(m: rows, n: inF, k: outF, a: g.data, lda: outF, b: weight.data, ldb: inF,
                                  beta: accumulate ? 1 : 0, c: dx, ldc: inF)
    }
    if weight.requiresGrad {
        dwProduct = MatrixProduct(transA: true, m: outF, n: inF, k: rows, a: g.data, lda: outF,
                                  b: x.data, ldb: inF, beta: 1, c: weight.gradPointer(), ldc: inF)
    }
    switch (dxProduct, dwProduct) {
    case let (dx?, dw?): sgemmPair(dx, dw)
    case let (only?, nil), let (nil, only?): sgemm(only)
    case (nil, nil): break
    }
    if let bias, bias.requiresGrad {
        addColumnSums(bias.gradPointer(), g.data, rows: rows, cols: outF)
    }
}
