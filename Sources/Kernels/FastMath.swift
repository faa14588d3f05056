// Vectorised exp and tanh for Float lanes (SIMD16, SIMD8, and a scalar form that gives the same
// bits), so softmax, GELU and cross-entropy need no per-element libm call.
// exp: Cody–Waite range reduction x = n·ln2 + r, |r| ≤ ln2/2, then e^r ≈ 1 + r + r²·P(r), P the quintic
// of Cephes' expf (S. L. Moshier, Cephes Math Library; constants quoted from its expf.c), scaled by
// 2ⁿ built from exponent bits. tanh: Cephes tanhf's odd polynomial for |x| < 0.625, else
// (1 − e)/(1 + e) with e = exp(−2|x|). Worst relative errors measured against Double libm over
// their ranges: exp 8.0e-8, tanh 1.5e-7 (FastMathTests bounds them at 1.2e-7 and 2e-7).
// No fused multiply-add is used, so results are the same bits with or without an FMA target.

// Cephes expf constants.
@usableFromInline let expLog2e: Float = 1.44269504088896341
@usableFromInline let expC1: Float = 0.693359375        // ln2 high part: n·C1 is exact for |n| < 2¹⁵
@usableFromInline let expC2: Float = -2.12194440e-4     // ln2 − C1
@usableFromInline let expP0: Float = 1.9875691500e-4
@usableFromInline let expP1: Float = 1.3981999507e-3
@usableFromInline let expP2: Float = 8.3334519073e-3
@usableFromInline let expP3: Float = 4.1665795894e-2
@usableFromInline let expP4: Float = 1.6666665459e-1
@usableFromInline let expP5: Float = 5.0000001201e-1
/// Above this exp overflows to +inf (ln(FLT_MAX)).
@usableFromInline let expHi: Float = 88.72283935546875
/// Below this exp is 0 (ln of half the smallest subnormal).
@usableFromInline let expLo: Float = -103.97208404541016
/// 1.5·2²³: adding it rounds to an integer held in the low mantissa bits.
@usableFromInline let expRound: Float = 12_582_912

// Cephes tanhf constants.
@usableFromInline let tanhT0: Float = -5.70498872745e-3
@usableFromInline let tanhT1: Float = 2.06390887954e-2
@usableFromInline let tanhT2: Float = -5.37397155531e-2
@usableFromInline let tanhT3: Float = 1.33314422036e-1
@usableFromInline let tanhT4: Float = -3.33332819422e-1
@usableFromInline let tanhSmall: Float = 0.625

/// e^x for 16 lanes. Overflows to +inf above 88.72, flushes to 0 below −103.97, propagates NaN.
@inlinable @inline(__always)
public func fastExp(_ x: SIMD16<Float>) -> SIMD16<Float> {
    // No clamp: outside [expLo, expHi] the lanes compute garbage (never a trap) that the two selects
    // at the end replace; NaN flows through the arithmetic.
    // n = round(x·log2e), exactly, without a float→int conversion (undefined for NaN).
    let t = x * expLog2e + expRound
    let n = t - expRound
    let r = (x - n * expC1) - n * expC2
    var p = SIMD16<Float>(repeating: expP0)
    p = p * r + expP1
    p = p * r + expP2
    p = p * r + expP3
    p = p * r + expP4
    p = p * r + expP5
    p = p * (r * r) + r + 1
    // 2ⁿ as two factors 2^(n>>1)·2^(n−n>>1), each a normal float for n in [−150, 128], so results
    // down into the subnormals and up to the overflow boundary come out right.
    let ni = unsafeBitCast(t, to: SIMD16<Int32>.self)
        &- unsafeBitCast(SIMD16<Float>(repeating: expRound), to: SIMD16<Int32>.self)
    let n1 = ni &>> 1, n2 = ni &- n1
    let s1 = unsafeBitCast((n1 &+ 127) &<< 23, to: SIMD16<Float>.self)
    let s2 = unsafeBitCast((n2 &+ 127) &<< 23, to: SIMD16<Float>.self)
    var y = p * s1 * s2
    y.replace(with: 0, where: x .< expLo)
    y.replace(with: .infinity, where: x .> expHi)
    return y
}

/// e^x for 8 lanes (same bits as the 16-lane form, which it calls: prefer SIMD16 in hot loops).
@inlinable @inline(__always)
public func fastExp(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let y = fastExp(SIMD16<Float>(lowHalf: x, highHalf: x))
    return y.lowHalf
}

/// e^x for one value (same algorithm and bits as the vector forms; for loop tails).
@inlinable @inline(__always)
public func fastExp(_ x: Float) -> Float {
    fastExp(SIMD16<Float>(repeating: x))[0]
}

/// tanh(x) for 16 lanes; exact ±1 for |x| ≥ 9.1, odd (signed zeros kept), propagates NaN.
@inlinable @inline(__always)
public func fastTanh(_ x: SIMD16<Float>) -> SIMD16<Float> {
    // Work on |x| and copy x's sign bit back at the end (tanh is odd).
    let bits = unsafeBitCast(x, to: SIMD16<UInt32>.self)
    let a = unsafeBitCast(bits & 0x7FFF_FFFF, to: SIMD16<Float>.self)
    // Large branch: (1 − e)/(1 + e) with e = exp(−2|x|) in (0, 0.29]: no cancellation.
    let e = fastExp(-2 * a)
    let large = (1 - e) / (1 + e)
    // Small branch: |x| + |x|³·P(x²), Cephes' minimax polynomial.
    let z = a * a
    var q = SIMD16<Float>(repeating: tanhT0)
    q = q * z + tanhT1
    q = q * z + tanhT2
    q = q * z + tanhT3
    q = q * z + tanhT4
    let small = q * z * a + a
    let y = small.replacing(with: large, where: a .>= tanhSmall)
    return unsafeBitCast(unsafeBitCast(y, to: SIMD16<UInt32>.self) | (bits & 0x8000_0000), to: SIMD16<Float>.self)
}

/// tanh(x) for 8 lanes (same bits as the 16-lane form, which it calls: prefer SIMD16 in hot loops).
@inlinable @inline(__always)
public func fastTanh(_ x: SIMD8<Float>) -> SIMD8<Float> {
    fastTanh(SIMD16<Float>(lowHalf: x, highHalf: x)).lowHalf
}

/// tanh(x) for one value (same algorithm and bits as the vector forms).
@inlinable @inline(__always)
public func fastTanh(_ x: Float) -> Float {
    fastTanh(SIMD16<Float>(repeating: x))[0]
}

// MARK: - Lane helpers

/// Lane-wise maximum as a compare and blend. (The standard library's pointwiseMax follows
/// Float.maximum's NaN rules lane by lane and compiles to scalar code.) A NaN in `b` is ignored.
@inlinable @inline(__always)
public func lanesMax(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
    a.replacing(with: b, where: a .< b)
}

/// Lane-wise minimum as a compare and blend (see lanesMax). A NaN in `b` is ignored.
@inlinable @inline(__always)
public func lanesMin(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
    a.replacing(with: b, where: b .< a)
}

// MARK: - Buffers

/// Loads up to 16 floats, padding the missing lanes with `fill`.
@inlinable @inline(__always)
public func loadPartial16(_ p: UnsafePointer<Float>, count: Int, fill: Float = 0) -> SIMD16<Float> {
    var v = SIMD16<Float>(repeating: fill)
    for i in 0..<min(count, 16) { v[i] = p[i] }
    return v
}

/// Stores the first `count` (≤ 16) lanes of `v`.
@inlinable @inline(__always)
public func storePartial16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<min(count, 16) { p[i] = v[i] }
}

@inlinable @inline(__always)
public func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

@inlinable @inline(__always)
public func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}

/// out[i] = e^x[i] (out may equal x).
public func expForward(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
    Parallel.forRanges(count, minWork: 1 << 16) { range in
        var i = range.lowerBound
        while i + 16 <= range.upperBound { store16(fastExp(load16(x + i)), out + i); i += 16 }
        let rest = range.upperBound - i
        if rest > 0 { storePartial16(fastExp(loadPartial16(x + i, count: rest)), out + i, count: rest) }
    }
}

/// out[i] = tanh(x[i]) (out may equal x).
public func tanhForward(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
    Parallel.forRanges(count, minWork: 1 << 16) { range in
        var i = range.lowerBound
        while i + 16 <= range.upperBound { store16(fastTanh(load16(x + i)), out + i); i += 16 }
        let rest = range.upperBound - i
        if rest > 0 { storePartial16(fastTanh(loadPartial16(x + i, count: rest)), out + i, count: rest) }
    }
}
