// The memory behind tensors: one 64-byte-aligned float buffer, freed when the last tensor (or view)
// that refers to it goes away.
import Kernels

public final class TensorStorage {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    public init(count: Int, zeroed: Bool = true) {
        precondition(count >= 0, "TensorStorage: negative element count \(count)")
        self.count = count
        self.pointer = allocateAligned(count, zeroed: zeroed)
    }

    deinit { deallocateAligned(pointer) }
}
