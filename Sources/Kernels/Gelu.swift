// GELU, tanh approximation (GPT-2; PyTorch's gelu(approximate="tanh")), element-wise over N values:
//   gelu(x) = 0.5·x·(1 + tanh(u)),  u = √(2/π)·(x + 0.044715·x³)
// computed as the identical x·σ(2u) = x / (1 + e^(−2u)): one exp and no cancellation for negative x
// (where 1 + tanh(u) → 0). gelu'(x) = σ + 2·x·σ·(1 − σ)·u', u' = √(2/π)·(1 + 3·0.044715·x²), comes
// from the same exponential, so a training forward stores it beside the value and backward multiplies.
// Reference: Hendrycks & Gimpel, "Gaussian Error Linear Units" (2016), eq. for the tanh approximation.
import Foundation

@usableFromInline let geluSqrt2OverPi: Float = 0.7978845608028654  // √(2/π)
@usableFromInline let geluCubic: Float = 0.044715

/// e^(−2u) for 16 lanes, its argument capped at 80 so that e stays finite (then σ = 1/(1 + e) is
/// at most 2e-35 and 1 − σ = e·σ is exact to rounding rather than a cancellation).
@inline(__always)
private func geluExpMinus2u(_ x: SIMD16<Float>) -> SIMD16<Float> {
    // −2u = x·(−2√(2/π) − 2√(2/π)·0.044715·x²)
    let minus2u = x * ((-2 * geluSqrt2OverPi) + (-2 * geluSqrt2OverPi * geluCubic) * (x * x))
    return fastExp(lanesMin(minus2u, SIMD16(repeating: 80)))
}

@inline(__always)
private func geluValue(_ x: SIMD16<Float>) -> SIMD16<Float> {
    x * (1 / (1 + geluExpMinus2u(x)))  // x·σ, rounded as geluValueAndDerivative rounds it
}

/// out (N) = gelu(inp (N)). `out` may equal `inp`.
public func geluForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, count: Int) {
    Parallel.forRanges(count, minWork: 1 << 15) { range in
        var i = range.lowerBound
        let end = range.upperBound
        while i + 16 <= end { store16(geluValue(load16(inp + i)), out + i); i += 16 }
        if i < end { storePartial16(geluValue(loadPartial16(inp + i, count: end - i)), out + i, count: end - i) }
    }
}

/// out (N) = gelu(inp (N)) and derivative (N) = gelu'(inp), from the same exponential: a training
/// forward pass saves the derivative so that backward is one multiply per element (no exp, no
/// division) and the input need not be kept. `out` may equal `inp`.
public func geluForward(_ out: UnsafeMutablePointer<Float>, derivative: UnsafeMutablePointer<Float>,
                        _ inp: UnsafePointer<Float>, count: Int) {
    Parallel.forRanges(count, minWork: 1 << 15) { range in
        var i = range.lowerBound
        let end = range.upperBound
        while i + 16 <= end {
            let x = load16(inp + i)
            let (y, d) = geluValueAndDerivative(x)
            store16(y, out + i); store16(d, derivative + i)
            i += 16
        }
        if i < end {
            let n = end - i
            let (y, d) = geluValueAndDerivative(loadPartial16(inp + i, count: n))
            storePartial16(y, out + i, count: n); storePartial16(d, derivative + i, count: n)
        }
    }
}

@inline(__always)
private func geluValueAndDerivative(_ x: SIMD16<Float>) -> (SIMD16<Float>, SIMD16<Float>) {
    let e = geluExpMinus2u(x)
    let s = 1 / (1 + e)
    let du = geluSqrt2OverPi + (geluSqrt2OverPi * 3 * geluCubic) * (x * x)
    return (x * s, s + 2 * x * s * (e * s) * du)
}

/// dinp (N) += derivative · dout (or = when `accumulate` is false), with the derivative saved by
/// `geluForward(_:derivative:_:count:)`.
public func geluBackward(_ dinp: UnsafeMutablePointer<Float>, derivative: UnsafePointer<Float>,
                         _ dout: UnsafePointer<Float>, count: Int, accumulate: Bool) {
    Parallel.forRanges(count, minWork: 1 << 16) { range in
        var i = range.lowerBound
        let end = range.upperBound
        if accumulate {
            while i + 16 <= end {
                store16(load16(dinp + i) + load16(derivative + i) * load16(dout + i), dinp + i)
                i += 16
            }
            while i < end { dinp[i] += derivative[i] * dout[i]; i += 1 }
        } else {
            while i + 16 <= end { store16(load16(derivative + i) * load16(dout + i), dinp + i); i += 16 }
            while i < end { dinp[i] = derivative[i] * dout[i]; i += 1 }
        }
    }
}

// MARK: - Reference (test oracle): the tanh formula as written, in Double

public func geluForwardReference(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, count: Int) {
    let k = (2 / Double.pi).squareRoot()
    for i in 0..<count {
        let x = Double(inp[i])
        out[i] = Float(0.5 * x * (1 + tanh(k * (x + 0.044715 * x * x * x))))
    }
}

public func geluBackwardReference(_ dinp: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                                  _ dout: UnsafePointer<Float>, count: Int) {
    let k = (2 / Double.pi).squareRoot()
    for i in 0..<count {
        let x = Double(inp[i])
        let t = tanh(k * (x + 0.044715 * x * x * x))
        let d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
        dinp[i] = Float(Double(dinp[i]) + d * Double(dout[i]))
    }
}
