// Inverted dropout over N values: out = x·mask/(1 − p), mask[i] ~ Bernoulli(1 − p), kept as a bitmask
// (bit i%64 of word i/64) for backward: dx += dout·mask/(1 − p).
// The mask is a pure function of (seed, i): 32-bit uniforms from the SplitMix64 sequence started at
// `seed` (Steele, Lea & Flood, "Fast splittable pseudorandom number generators", 2014; constants from
// Vigna's splitmix64.c), element i using half of output i/2. Any thread can therefore produce any
// part of the mask, and the result does not depend on the thread count.

@usableFromInline let splitMixGamma: UInt64 = 0x9E37_79B9_7F4A_7C15

/// The k-th output (k ≥ 0) of the SplitMix64 sequence seeded with `seed`.
@inline(__always)
public func splitMix64(_ seed: UInt64, _ k: UInt64) -> UInt64 {
    var z = seed &+ (k &+ 1) &* splitMixGamma
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// UInt64 words of mask that dropout over `count` values needs.
public func dropoutMaskWords(count: Int) -> Int { (count + 63) / 64 }

/// A 32-bit uniform u is kept when u ≥ this, so P(keep) = 1 − p to within 2⁻³².
@inline(__always)
private func keepThreshold(_ p: Float) -> UInt64 {
    UInt64((Double(p) * 4_294_967_296).rounded(.up))
}

/// Bits j..<j+16 of a mask word spread over 16 lanes as all-ones (kept) or zero (dropped), built
/// with shifts and a negation: integer SIMD comparisons would compile to per-lane code.
@inline(__always)
private func laneBits(_ word: UInt64, from j: Int) -> SIMD16<UInt32> {
    let lanes = SIMD16<UInt32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
    let bits = (SIMD16<UInt32>(repeating: UInt32(truncatingIfNeeded: word >> UInt64(j))) &>> lanes) & 1
    return 0 &- bits
}

/// v where `bits` is all-ones, +0 where it is zero.
@inline(__always)
private func masked(_ v: SIMD16<Float>, _ bits: SIMD16<UInt32>) -> SIMD16<Float> {
    unsafeBitCast(unsafeBitCast(v, to: SIMD16<UInt32>.self) & bits, to: SIMD16<Float>.self)
}

/// out (N) = inp·mask/(1 − p); mask (dropoutMaskWords(N) words) receives the kept bits.
/// p in [0, 1]; p = 1 drops everything. `out` may equal `inp`.
public func dropoutForward(_ out: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<UInt64>,
                           _ inp: UnsafePointer<Float>, count: Int, p: Float, seed: UInt64) {
    precondition(p >= 0 && p <= 1, "dropoutForward: p must be in [0, 1], got \(p)")
    let threshold = keepThreshold(p)
    let scale: Float = p < 1 ? 1 / (1 - p) : 0
    let words = dropoutMaskWords(count: count)
    Parallel.forRanges(words, costPerItem: 64, minWork: 1 << 15) { range in
        for w in range {
            var word: UInt64 = 0
            for k in 0..<32 {
                let z = splitMix64(seed, UInt64(w * 32 + k))
                let keepLo: UInt64 = (z & 0xFFFF_FFFF) >= threshold ? 1 : 0
                let keepHi: UInt64 = (z >> 32) >= threshold ? 1 : 0
                word |= (keepLo | keepHi << 1) << UInt64(2 * k)
            }
            let start = w * 64, n = min(64, count - start)
            if n < 64 { word &= (1 << UInt64(n)) - 1 }
            mask[w] = word
            let x = inp + start, o = out + start
            if n == 64 {
                for j in stride(from: 0, to: 64, by: 16) {
                    store16(masked(load16(x + j) * scale, laneBits(word, from: j)), o + j)
                }
            } else {
                for j in 0..<n { o[j] = (word >> UInt64(j)) & 1 != 0 ? x[j] * scale : 0 }
            }
        }
    }
}

/// dinp (N) += dout·mask/(1 − p) (or = when `accumulate` is false). Differentiates
/// `out = inp·mask/(1 − p)` of dropoutForward.
public func dropoutBackward(_ dinp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                            mask: UnsafePointer<UInt64>, count: Int, p: Float, accumulate: Bool = true) {
    let scale: Float = p < 1 ? 1 / (1 - p) : 0
    let words = dropoutMaskWords(count: count)
    Parallel.forRanges(words, costPerItem: 64, minWork: 1 << 15) { range in
        for w in range {
            let word = mask[w], start = w * 64, n = min(64, count - start)
            let dy = dout + start, dx = dinp + start
            if n == 64 {
                for j in stride(from: 0, to: 64, by: 16) {
                    let g = masked(load16(dy + j) * scale, laneBits(word, from: j))
                    store16(accumulate ? load16(dx + j) + g : g, dx + j)
                }
            } else {
                for j in 0..<n {
                    let g: Float = (word >> UInt64(j)) & 1 != 0 ? dy[j] * scale : 0
                    dx[j] = accumulate ? dx[j] + g : g
                }
            }
        }
    }
}

// MARK: - Reference (test oracle): element by element, straight from the definition

/// Which elements dropout keeps, one Bool per element, for the same (seed, p).
public func dropoutKeepReference(count: Int, p: Float, seed: UInt64) -> [Bool] {
    let threshold = Double(p) * 4_294_967_296
    return (0..<count).map { i in
        let z = splitMix64(seed, UInt64(i / 2))
        let u = i % 2 == 0 ? z & 0xFFFF_FFFF : z >> 32
        return Double(u) >= threshold
    }
}
