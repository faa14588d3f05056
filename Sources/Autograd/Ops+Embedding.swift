// Embedding lookup: rows of a (V, C) table picked by integer ids.
//   embedding   embeddingForward → embeddingBackward   (saves the ids; scatter-adds into table.grad)
import Kernels

/// out (shape + [C]) = table (V, C) rows for `ids` (ids.count = product of `shape`).
public func embedding(_ ids: [Int32], shape: [Int], table: Tensor) -> Tensor {
    Tape.operation(.embedding) { op in
        precondition(table.rank == 2, "embedding: table must be (V, C), got \(table.shape)")
        precondition(ids.count == shape.reduce(1, *),
                     "embedding: \(ids.count) ids do not fill shape \(shape)")
        let v = table.shape[0], c = table.shape[1]
        for (i, id) in ids.enumerated() {
            precondition(id >= 0 && Int(id) < v,
                         "embedding: id \(id) at position \(i) is out of range for vocabulary size \(v)")
        }
        let out = Tensor(uninitialized: shape + [c])
        ids.withUnsafeBufferPointer { p in
            if let base = p.baseAddress {
                embeddingForward(out.data, ids: base, table: table.data, count: ids.count, channels: c)
            }
        }
        op.record(out, inputs: [table]) { g in
            ids.withUnsafeBufferPointer { p in
                if let base = p.baseAddress {
                    embeddingBackward(dtable: table.gradPointer(), dout: g.data, ids: base, count: ids.count, vocab: v,
                                      channels: c)
                }
            }
        }
        return out
    }
}
