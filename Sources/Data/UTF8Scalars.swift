// UTF-8 helpers on raw bytes: validation that reports the first bad byte offset, the length of a
// trailing incomplete sequence (for streaming chunks), and scalar decoding of already-valid bytes.
// Well-formed sequences as in the Unicode Standard, Table 3-7 (no overlongs, surrogates or > U+10FFFF).

enum UTF8Scalars {
    /// Length of the sequence a lead byte starts (0 for a byte that cannot start one).
    @inline(__always)
    static func sequenceLength(lead b: UInt8) -> Int {
        if b < 0x80 { return 1 }
        if b < 0xC2 { return 0 }
        if b < 0xE0 { return 2 }
        if b < 0xF0 { return 3 }
        if b < 0xF5 { return 4 }
        return 0
    }

    /// Whether bytes[i..<i+len] (all present) form a well-formed sequence.
    @inline(__always)
    static func isWellFormed(_ p: UnsafeBufferPointer<UInt8>, at i: Int, length len: Int) -> Bool {
        let b0 = p[i]
        let b1 = p[i + 1]
        switch len {
        case 2:
            return b1 & 0xC0 == 0x80
        case 3:
            let lo: UInt8 = b0 == 0xE0 ? 0xA0 : 0x80
            let hi: UInt8 = b0 == 0xED ? 0x9F : 0xBF
            return b1 >= lo && b1 <= hi && p[i + 2] & 0xC0 == 0x80
        default:
            let lo: UInt8 = b0 == 0xF0 ? 0x90 : 0x80
            let hi: UInt8 = b0 == 0xF4 ? 0x8F : 0xBF
            return b1 >= lo && b1 <= hi && p[i + 2] & 0xC0 == 0x80 && p[i + 3] & 0xC0 == 0x80
        }
    }

    /// Validates `p`. Returns the offset of the first invalid byte, or nil when all is valid.
    /// With `allowIncompleteTail`, a sequence cut off by the end of the buffer is not an error;
    /// `validLength` is then where it starts (the caller carries those bytes into the next chunk).
    static func validate(_ p: UnsafeBufferPointer<UInt8>,
                         allowIncompleteTail: Bool) -> (invalidAt: Int?, validLength: Int) {
        let n = p.count
        var i = 0
        while i < n {
            // ASCII fast path: 8 bytes at a time.
            while i + 8 <= n {
                let w = UnsafeRawPointer(p.baseAddress! + i).loadUnaligned(as: UInt64.self)
                if w & 0x8080_8080_8080_8080 != 0 { break }
                i += 8
            }
            if i >= n { break }
            let b = p[i]
            if b < 0x80 { i += 1; continue }
            let len = sequenceLength(lead: b)
            if len == 0 { return (i, i) }
            if i + len > n {
                // Check the bytes that are present before calling it a cut-off sequence.
                var j = i + 1
                while j < n {
                    if p[j] & 0xC0 != 0x80 { return (i, i) }
                    if j == i + 1 {
                        if (b == 0xE0 && p[j] < 0xA0) || (b == 0xED && p[j] > 0x9F)
                            || (b == 0xF0 && p[j] < 0x90) || (b == 0xF4 && p[j] > 0x8F) { return (i, i) }
                    }
                    j += 1
                }
                return allowIncompleteTail ? (nil, i) : (i, i)
            }
            if !isWellFormed(p, at: i, length: len) { return (i, i) }
            i += len
        }
        return (nil, n)
    }

    /// Decodes the scalar at `i` of valid UTF-8 and its byte length.
    @inline(__always)
    static func decode(_ p: UnsafeBufferPointer<UInt8>, at i: Int) -> (UInt32, Int) {
        let b0 = UInt32(p[i])
        if b0 < 0x80 { return (b0, 1) }
        if b0 < 0xE0 { return ((b0 & 0x1F) << 6 | UInt32(p[i + 1] & 0x3F), 2) }
        if b0 < 0xF0 {
            return ((b0 & 0x0F) << 12 | UInt32(p[i + 1] & 0x3F) << 6 | UInt32(p[i + 2] & 0x3F), 3)
        }
        return ((b0 & 0x07) << 18 | UInt32(p[i + 1] & 0x3F) << 12 | UInt32(p[i + 2] & 0x3F) << 6
                | UInt32(p[i + 3] & 0x3F), 4)
    }

    /// Length of a trailing sequence that is incomplete (0 when the buffer ends on a boundary).
    /// Used by the streaming decoder, which holds those bytes back until the rest arrives.
    static func incompleteTailLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        var k = 1
        while k <= min(3, n) {
            let b = bytes[n - k]
            if b & 0xC0 != 0x80 {
                let len = sequenceLength(lead: b)
                return len > k ? k : 0
            }
            k += 1
        }
        return 0
    }
}
