// 64-byte-aligned float buffers: one cache line, and the alignment AVX-512 loads like best.
import Foundation

public let floatAlignment = 64

/// Allocates `count` floats aligned to 64 bytes, zero-filled. Free with `deallocateAligned`.
public func allocateAligned(_ count: Int, zeroed: Bool = true) -> UnsafeMutablePointer<Float> {
    let bytes = max(count, 1) * MemoryLayout<Float>.stride
    let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: floatAlignment)
    if zeroed { raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes) }
    return raw.bindMemory(to: Float.self, capacity: max(count, 1))
}

public func deallocateAligned(_ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).deallocate()
}
