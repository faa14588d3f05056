// Reading safetensors tensors stored in other dtypes than F32, for imported models: F16 and BF16
// (and F64) are widened to Float, optionally transposing a 2-D tensor on the way (Hugging Face's
// Conv1D keeps weights as [in, out]; ours are [out, in]); integer tensors are read for test fixtures.
// Sizes were validated against the file when it was opened, so reads here cannot leave the mapping.
import Foundation

extension SafeTensorsFile {
    /// The float dtypes `readFloats` converts.
    public static let floatDtypes: Set<String> = ["F32", "F16", "BF16", "F64"]

    /// Copies `entry` (a float dtype) into `destination` (entry.count floats) as Float. With
    /// `transposing`, a 2-D entry [rows, cols] is written as its [cols, rows] transpose.
    public func readFloats(_ entry: Entry, into destination: UnsafeMutablePointer<Float>, transposing: Bool = false) {
        precondition(SafeTensorsFile.floatDtypes.contains(entry.dtype), "readFloats: dtype \(entry.dtype)")
        precondition(!transposing || entry.shape.count == 2, "readFloats: transposing a \(entry.shape.count)-D tensor")
        let n = entry.count
        let target = transposing ? UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1)) : destination
        defer { if transposing { target.deallocate() } }
        bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let src = raw.baseAddress! + dataStart + entry.dataOffsets.lowerBound
            switch entry.dtype {
            case "F32":
                #if _endian(little)
                UnsafeMutableRawPointer(target).copyMemory(from: src, byteCount: n * 4)
                #else
                for k in 0..<n {
                    let bits = src.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self)
                    target[k] = Float(bitPattern: UInt32(littleEndian: bits))
                }
                #endif
            case "BF16":
                for k in 0..<n {
                    let bits = src.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self)
                    target[k] = Float(bitPattern: UInt32(UInt16(littleEndian: bits)) << 16)
                }
            case "F16":
                for k in 0..<n {
                    let bits = src.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self)
                    target[k] = halfToFloat(UInt16(littleEndian: bits))
                }
            default:  // F64
                for k in 0..<n {
                    let bits = src.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self)
                    target[k] = Float(Double(bitPattern: UInt64(littleEndian: bits)))
                }
            }
        }
        if transposing { transposeMatrix(target, rows: entry.shape[0], cols: entry.shape[1], into: destination) }
    }

    /// The values of integer tensor `name` (I64, I32 or U8).
    public func integers(_ name: String) throws -> [Int64] {
        guard let e = entry(name) else { throw CheckpointError("\(url.path): no tensor named \"\(name)\"") }
        let values = bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [Int64]? in
            let src = raw.baseAddress! + dataStart + e.dataOffsets.lowerBound
            switch e.dtype {
            case "I64":
                return (0..<e.count).map {
                    Int64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))
                }
            case "I32":
                return (0..<e.count).map {
                    Int64(Int32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)))
                }
            case "U8": return (0..<e.count).map { Int64(src.load(fromByteOffset: $0, as: UInt8.self)) }
            default: return nil
            }
        }
        guard let values else { throw CheckpointError("\(url.path): tensor \"\(name)\" has dtype \(e.dtype), " +
                "expected I64, I32 or U8") }
        return values
    }
}

/// dst (cols, rows) = srcᵀ for src (rows, cols), in 32×32 tiles so both sides stay in cache.
func transposeMatrix(_ src: UnsafePointer<Float>, rows: Int, cols: Int, into dst: UnsafeMutablePointer<Float>) {
    let tile = 32
    for r0 in stride(from: 0, to: rows, by: tile) {
        let r1 = min(r0 + tile, rows)
        for c0 in stride(from: 0, to: cols, by: tile) {
            let c1 = min(c0 + tile, cols)
            for r in r0..<r1 {
                let row = src + r * cols
                for c in c0..<c1 { dst[c * rows + r] = row[c] }
            }
        }
    }
}

/// IEEE 754 half → single, exact (subnormals, infinities and NaNs included).
@inline(__always)
func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = Int((h >> 10) & 0x1F)
    let mantissa = UInt32(h & 0x3FF)
    if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
    if exponent == 0 {
        // Subnormal (or zero): mantissa · 2^-24, exact in Float.
        let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
        return sign != 0 ? -magnitude : magnitude
    }
    return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
}
