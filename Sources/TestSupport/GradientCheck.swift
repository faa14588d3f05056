// Finite-difference gradient checking. The scalar being differentiated is L = Σ out_i·w_i with fixed
// random weights w (so every output element matters), evaluated in Double from the Float32 outputs.
// Central differences with step h have truncation error O(h²) and Float32 rounding error
// O(ε_f32·|L|/h); with h = 1e-2 and inputs of order 1 both are ~1e-4, hence the default tolerance
// |analytic - numeric| <= 2e-3 + 2e-2·max(|analytic|, |numeric|). Tests call `checkGradients`, which
// asserts that the check passes.
import XCTest
import Autograd
import Kernels

public struct GradientCheckFailure: CustomStringConvertible {
    public let input: Int
    public let index: Int
    public let analytic: Double
    public let numeric: Double
    public var description: String {
        "input \(input)[\(index)]: analytic \(analytic), numeric \(numeric), diff \(abs(analytic - numeric))"
    }
}

/// Checks d(Σ fn()·w)/d(inputs) from backward() against central differences.
/// `inputs` must have `requiresGrad` set; `fn` must rebuild the output from them on every call.
/// Returns the failures (empty when the check passes) and the worst difference seen.
public func gradientCheck(inputs: [Tensor], step h: Float = 1e-2, atol: Double = 2e-3, rtol: Double = 2e-2,
                          seed: UInt64 = 1234,
                          _ fn: () -> Tensor) -> (failures: [GradientCheckFailure], maxDiff: Double) {
    for x in inputs { x.grad = nil; x.requiresGrad = true }
    Tape.current.reset()
    let out = fn()
    var rng = RandomGenerator(seed: seed)
    let w = Tensor.uniform(out.shape, low: -1, high: 1, rng: &rng)
    let loss = sum(out * w)
    loss.backward()
    let weights = w.array

    func objective() -> Double {
        withoutGrad {
            let o = fn()
            var s = 0.0
            for i in 0..<o.count { s += Double(o.data[i]) * Double(weights[i]) }
            return s
        }
    }

    var failures: [GradientCheckFailure] = []
    var maxDiff = 0.0
    for (k, x) in inputs.enumerated() {
        let analytic = x.grad?.array ?? [Float](repeating: 0, count: x.count)
        for i in 0..<x.count {
            let saved = x.data[i]
            x.data[i] = saved + h
            let plus = objective()
            x.data[i] = saved - h
            let minus = objective()
            x.data[i] = saved
            let numeric = (plus - minus) / (2 * Double(h))
            let a = Double(analytic[i])
            let diff = abs(a - numeric)
            maxDiff = max(maxDiff, diff)
            if !(diff <= atol + rtol * max(abs(a), abs(numeric))) {
                failures.append(GradientCheckFailure(input: k, index: i, analytic: a, numeric: numeric))
            }
        }
    }
    return (failures, maxDiff)
}

/// Asserts that `gradientCheck` (default step and tolerances) finds no mismatch between backward()
/// and central differences for `inputs`; a failure names the first three mismatches.
public func checkGradients(_ inputs: [Tensor], file: StaticString = #filePath, line: UInt = #line,
                           _ fn: () -> Tensor) {
    let r = gradientCheck(inputs: inputs, fn)
    XCTAssert(r.failures.isEmpty, "\(r.failures.count) gradient mismatches, first: \(r.failures.prefix(3))",
              file: file, line: line)
}
