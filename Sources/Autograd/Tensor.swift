// Tensor: a row-major, contiguous Float32 array with a shape, a lazily allocated gradient, and a flag
// saying whether gradients flow into it. Reference semantics: a tensor is one object whose identity
// the tape uses; views (reshape, arena slices) share storage.
import Kernels

public final class Tensor {
    public let shape: [Int]
    public let count: Int
    public let storage: TensorStorage
    /// Offset of element 0 inside `storage` (non-zero for views into a parameter arena).
    public let offset: Int
    /// Accumulated gradient, same shape; nil until something writes to it.
    public var grad: Tensor?
    /// True for parameters and for results of recorded operations on them.
    public var requiresGrad: Bool
    /// Optional name used in error messages and checkpoints.
    public var name: String?

    public init(shape: [Int], storage: TensorStorage, offset: Int = 0, requiresGrad: Bool = false) {
        let n = shape.reduce(1, *)
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in shape \(shape)")
        precondition(offset >= 0 && offset + n <= storage.count,
                     "Tensor: shape \(shape) at offset \(offset) does not fit storage of \(storage.count)")
        self.shape = shape
        self.count = n
        self.storage = storage
        self.offset = offset
        self.requiresGrad = requiresGrad
    }

    /// A new zero-filled tensor.
    public convenience init(zeros shape: [Int], requiresGrad: Bool = false) {
        self.init(shape: shape, storage: TensorStorage(count: shape.reduce(1, *)), requiresGrad: requiresGrad)
    }

    /// A new tensor whose contents the caller will overwrite completely.
    public convenience init(uninitialized shape: [Int]) {
        self.init(shape: shape, storage: TensorStorage(count: shape.reduce(1, *), zeroed: false))
    }

    /// A tensor holding `values` in row-major order.
    public convenience init(_ values: [Float], shape: [Int], requiresGrad: Bool = false) {
        precondition(values.count == shape.reduce(1, *),
                     "Tensor: \(values.count) values do not fill shape \(shape)")
        self.init(uninitialized: shape)
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { data.update(from: base, count: values.count) }
        }
        self.requiresGrad = requiresGrad
    }

    public static func zeros(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        Tensor(zeros: shape, requiresGrad: requiresGrad)
    }

    public static func full(_ shape: [Int], value: Float, requiresGrad: Bool = false) -> Tensor {
        let t = Tensor(uninitialized: shape)
        t.data.update(repeating: value, count: t.count)
        t.requiresGrad = requiresGrad
        return t
    }

    public static func ones(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        full(shape, value: 1, requiresGrad: requiresGrad)
    }

    /// N(mean, std²) samples drawn from `rng`.
    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1,
                              rng: inout RandomGenerator, requiresGrad: Bool = false) -> Tensor {
        let t = Tensor(uninitialized: shape)
        rng.fillNormal(t.data, count: t.count, mean: mean, std: std)
        t.requiresGrad = requiresGrad
        return t
    }

    /// U(low, high) samples drawn from `rng`.
    public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1,
                               rng: inout RandomGenerator, requiresGrad: Bool = false) -> Tensor {
        let t = Tensor(uninitialized: shape)
        rng.fillUniform(t.data, count: t.count, low: low, high: high)
        t.requiresGrad = requiresGrad
        return t
    }

    /// Pointer to element 0. Valid while this tensor is alive.
    @inline(__always) public var data: UnsafeMutablePointer<Float> { storage.pointer + offset }

    public var rank: Int { shape.count }

    /// The size of the last dimension (1 for a scalar).
    public var lastDim: Int { shape.last ?? 1 }

    /// Contents as an array (for tests and small outputs).
    public var array: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// The single value of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "Tensor.item: tensor of shape \(shape) has \(count) elements, expected 1")
        return data[0]
    }

    /// An independent copy of the values (no gradient, not recorded).
    public func copy() -> Tensor {
        let t = Tensor(uninitialized: shape)
        t.data.update(from: data, count: count)
        return t
    }

    /// The gradient buffer, allocated zero-filled on first use. Backward kernels accumulate into it.
    public func gradPointer() -> UnsafeMutablePointer<Float> {
        if let g = grad { return g.data }
        let g = Tensor(zeros: shape)
        grad = g
        return g.data
    }

    /// The gradient buffer for a backward that writes every one of its `count` elements, and whether
    /// that backward must add to it. With no gradient yet, the buffer is allocated without zero-filling
    /// and `accumulate` is false: the caller stores its values (as if adding them to zeros), which
    /// saves the zero-fill and a read of the buffer on the common single-consumer path.
    @inline(__always)
    public func gradForWrite() -> (pointer: UnsafeMutablePointer<Float>, accumulate: Bool) {
        if let g = grad { return (g.data, true) }
        let g = Tensor(uninitialized: shape)
        grad = g
        return (g.data, false)
    }

    /// Adds `g` (this tensor's shape) to the gradient. With no gradient yet, `g` itself becomes the
    /// gradient instead of being copied: the caller is an op's backward passing its output gradient
    /// through unchanged, and the tape never reads an output's gradient after its backward has run.
    public func receiveGradient(_ g: Tensor) {
        precondition(g.count == count, "receiveGradient: \(g.count) values for a tensor of \(count)")
        if let own = grad {
            axpy(own.data, g.data, count: count)
        } else {
            grad = g.shape == shape ? g : Tensor(shape: shape, storage: g.storage, offset: g.offset)
        }
    }

    /// Sets the gradient to zero, keeping its buffer (it may live in a gradient arena).
    public func zeroGrad() {
        if let g = grad { g.data.update(repeating: 0, count: g.count) }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview = array.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor\(shape)[\(preview)\(count > 8 ? ", …" : "")]"
    }
}
