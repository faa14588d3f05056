// Helpers shared by the kernel tests: seeded random buffers, comparisons that report the worst
// element, and running a computation under several thread counts.
import XCTest
import Kernels
import TestSupport

/// `count` samples of N(mean, std²) from a generator seeded with `seed`.
func randomFloats(_ count: Int, seed: UInt64, mean: Float = 0, std: Float = 1) -> [Float] {
    var rng = RandomGenerator(seed: seed)
    var a = [Float](repeating: 0, count: count)
    a.withUnsafeMutableBufferPointer { rng.fillNormal($0.baseAddress!, count: count, mean: mean, std: std) }
    return a
}

func assertClose(_ actual: [Float], _ expected: [Float], rtol: Double, atol: Double, _ name: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    let r = compareClose(actual, expected, rtol: rtol, atol: atol, name: name)
    XCTAssert(r.ok, r.message, file: file, line: line)
}

/// Bitwise equality of two float arrays, naming the first differing element.
func assertBitwiseEqual(_ a: [Float], _ b: [Float], _ name: String, file: StaticString = #filePath,
                        line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(name): element counts differ", file: file, line: line)
    if let i = zip(a, b).enumerated().first(where: { $0.element.0.bitPattern != $0.element.1.bitPattern })?.offset {
        XCTFail("\(name): element \(i) differs bitwise: \(a[i]) vs \(b[i])", file: file, line: line)
    }
}

/// Runs `body` with our loops (and OpenBLAS) set to each thread count, restoring the previous count.
func withThreadCounts<R>(_ counts: [Int], _ body: (Int) -> R) -> [R] {
    let saved = Parallel.threadCount
    defer { Parallel.setThreadCount(saved) }
    return counts.map { n in
        Parallel.setThreadCount(n)
        return body(n)
    }
}

/// Calls `body` with mutable pointers to copies of `arrays`, returning the copies afterwards.
func withBuffers(_ arrays: [[Float]], _ body: ([UnsafeMutablePointer<Float>]) -> Void) -> [[Float]] {
    let ptrs = arrays.map { a -> UnsafeMutablePointer<Float> in
        let p = allocateAligned(a.count)
        a.withUnsafeBufferPointer { if let b = $0.baseAddress { p.update(from: b, count: a.count) } }
        return p
    }
    body(ptrs)
    let results = zip(ptrs, arrays).map { Array(UnsafeBufferPointer(start: $0.0, count: $0.1.count)) }
    ptrs.forEach { deallocateAligned($0) }
    return results
}
