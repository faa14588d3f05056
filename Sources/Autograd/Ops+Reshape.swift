// Reshape: a view with a new shape over the same storage (no copy). Its gradient is a separate
// buffer that backward adds into the source's.
import Kernels

extension Tensor {
    /// A view with `newShape` (one dimension may be -1, inferred). Shares storage with `self`.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tape.operation(.reshape) { op in
            var shape = newShape
            if let i = shape.firstIndex(of: -1) {
                let known = shape.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
                precondition(known > 0 && count % known == 0,
                             "reshape: cannot infer -1 in \(newShape) for \(self.shape)")
                shape[i] = count / known
            }
            precondition(shape.reduce(1, *) == count,
                         "reshape: \(self.shape) (\(count) elements) cannot become \(newShape)")
            let out = Tensor(shape: shape, storage: storage, offset: offset)
            op.record(out, inputs: [self]) { g in
                let (d, accumulate) = self.gradForWrite()
                axpyOrAssign(d, g.data, count: self.count, accumulate: accumulate)
            }
            return out
        }
    }
}
