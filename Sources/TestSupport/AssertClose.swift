// Approximate comparison of float arrays with a failure message that names the tensor, the worst
// element and the first mismatches.
import Foundation

public struct CloseReport {
    public let ok: Bool
    public let message: String
}

/// Compares element-wise with |a - e| <= atol + rtol·|e|.
public func compareClose(_ actual: [Float], _ expected: [Float], rtol: Double = 1e-5, atol: Double = 1e-6,
                         name: String = "tensor") -> CloseReport {
    guard actual.count == expected.count else {
        return CloseReport(ok: false, message: "\(name): \(actual.count) elements, expected \(expected.count)")
    }
    var worst = 0.0, worstIndex = -1
    var mismatches: [String] = []
    var bad = 0
    for i in 0..<actual.count {
        let a = Double(actual[i]), e = Double(expected[i])
        let diff = abs(a - e)
        if !(diff <= atol + rtol * abs(e)) || a.isNaN != e.isNaN {
            bad += 1
            if mismatches.count < 5 { mismatches.append("[\(i)] got \(a) expected \(e)") }
        }
        if diff > worst || diff.isNaN { worst = diff; worstIndex = i }
    }
    if bad == 0 { return CloseReport(ok: true, message: "") }
    return CloseReport(ok: false,
                       message: "\(name): \(bad)/\(actual.count) elements differ (rtol \(rtol), atol \(atol)); "
        + "max |diff| \(worst) at [\(worstIndex)]; first: " + mismatches.joined(separator: ", "))
}
