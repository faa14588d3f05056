// Seeded pseudo-random numbers whose whole state is four UInt64 words, so a run can save and restore
// it exactly (resume). xoshiro256** (Blackman & Vigna, 2018), seeded through SplitMix64.
// Never touches the system RNG.

public struct RandomGenerator: Equatable, Codable, Sendable {
    public var state: [UInt64]  // 4 words; an Array so it serialises plainly into state.json

    public init(seed: UInt64) {
        var s = seed
        func splitMix() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = [splitMix(), splitMix(), splitMix(), splitMix()]
    }

    public init(state: [UInt64]) {
        precondition(state.count == 4 && state.contains { $0 != 0 },
                     "RandomGenerator: state must be 4 words, not all zero")
        self.state = state
    }

    @inline(__always)
    public mutating func nextUInt64() -> UInt64 {
        let s0 = state[0], s1 = state[1], s2 = state[2], s3 = state[3]
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        var n2 = s2 ^ s0, n3 = s3 ^ s1
        let n1 = s1 ^ n2, n0 = s0 ^ n3
        n2 ^= t
        n3 = (n3 << 45) | (n3 >> 19)
        state[0] = n0; state[1] = n1; state[2] = n2; state[3] = n3
        return result
    }

    /// Uniform in [0, 1) with 24 random bits (every value exactly representable as Float).
    @inline(__always)
    public mutating func nextFloat() -> Float {
        Float(nextUInt64() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inline(__always)
    public mutating func nextDouble() -> Double {
        Double(nextUInt64() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Uniform integer in 0..<bound, without modulo bias (Lemire's method).
    @inline(__always)
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "RandomGenerator.nextInt: bound must be positive")
        let b = UInt64(bound)
        var m = nextUInt64().multipliedFullWidth(by: b)
        if m.low < b {
            let threshold = (0 &- b) % b
            while m.low < threshold { m = nextUInt64().multipliedFullWidth(by: b) }
        }
        return Int(m.high)
    }

    /// Standard normal sample (Box–Muller in Double, so the tails are accurate).
    public mutating func nextNormal() -> Float {
        var u1 = nextDouble()
        while u1 <= .leastNonzeroMagnitude { u1 = nextDouble() }
        let u2 = nextDouble()
        return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
    }

    /// Fills `count` floats with N(mean, std²).
    public mutating func fillNormal(_ p: UnsafeMutablePointer<Float>, count: Int, mean: Float = 0, std: Float = 1) {
        for i in 0..<count { p[i] = mean + std * nextNormal() }
    }

    /// Fills `count` floats with U(low, high).
    public mutating func fillUniform(_ p: UnsafeMutablePointer<Float>, count: Int, low: Float = 0, high: Float = 1) {
        for i in 0..<count { p[i] = low + (high - low) * nextFloat() }
    }
}

import Foundation
@inline(__always) private func _log(_ x: Double) -> Double { Foundation.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Foundation.cos(x) }
