// The memory behind tensors: one 64-byte-aligned float buffer, returned to the buffer pool
// (Kernels/BufferPool.swift) when the last tensor (or view) that refers to it goes away, so the
// activations of one training step reuse the previous step's memory.
import Kernels

public final class TensorStorage {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    public init(count: Int, zeroed: Bool = true) {
        precondition(count >= 0, "TensorStorage: negative element count \(count)")
        self.count = count
        self.pointer = BufferPool.take(count, zeroed: zeroed)
    }

    deinit { BufferPool.give(pointer, count: count) }
}
