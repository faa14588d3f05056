// Shape ops (splitHeads, mergeHeads, slice, concat, selectRows): values against direct indexing and
// gradients against central finite differences.
import XCTest
import Autograd
import Kernels
import TestSupport

final class ShapeGradientTests: XCTestCase {
    override func setUp() { Tape.current.reset() }

    func testSplitAndMergeHeads() {
        var rng = RandomGenerator(seed: 1)
        let x = Tensor.normal([2, 3, 8], rng: &rng)
        let s = withoutGrad { splitHeads(x, heads: 2) }
        XCTAssertEqual(s.shape, [2, 2, 3, 4])
        // s[b, h, t, d] = x[b, t, 4h + d]
        XCTAssertEqual(s.data[((1 * 2 + 1) * 3 + 2) * 4 + 3], x.data[(1 * 3 + 2) * 8 + 4 + 3])
        let m = withoutGrad { mergeHeads(s) }
        XCTAssertEqual(m.shape, [2, 3, 8])
        XCTAssertEqual(m.array, x.array)
        checkGradients([x]) { splitHeads(x, heads: 2) }
        checkGradients([x]) { splitHeads(x, heads: 8) }
        let h = Tensor.normal([2, 3, 1, 2], rng: &rng)
        checkGradients([h]) { mergeHeads(h) }
        checkGradients([x]) { mergeHeads(splitHeads(x, heads: 4)) * x }
    }

    func testSlice() {
        var rng = RandomGenerator(seed: 2)
        let x = Tensor.normal([2, 3, 7], rng: &rng)
        let s = withoutGrad { slice(x, lastAxis: 2..<5) }
        XCTAssertEqual(s.shape, [2, 3, 3])
        XCTAssertEqual(s.data[1 * 3 + 2], x.data[1 * 7 + 4])
        XCTAssertEqual(withoutGrad { slice(x, lastAxis: 3..<3) }.shape, [2, 3, 0])
        checkGradients([x]) { slice(x, lastAxis: 2..<5) }
        checkGradients([x]) { slice(x, lastAxis: 0..<7) }
        // Overlapping slices of one tensor both reach its gradient.
        checkGradients([x]) { slice(x, lastAxis: 0..<4) * slice(x, lastAxis: 3..<7) }
    }

    func testConcat() {
        var rng = RandomGenerator(seed: 3)
        let a = Tensor.normal([2, 3, 2], rng: &rng), b = Tensor.normal([2, 3, 3], rng: &rng)
        let d = Tensor.normal([2, 3, 1], rng: &rng)
        let c = withoutGrad { concat(lastAxis: [a, b, d]) }
        XCTAssertEqual(c.shape, [2, 3, 6])
        var row1: [Float] = Array(a.array[2..<4])
        row1 += b.array[3..<6]
        row1 += d.array[1..<2]
        XCTAssertEqual(Array(c.array[6..<12]), row1)
        checkGradients([a, b, d]) { concat(lastAxis: [a, b, d]) }
        // The same tensor twice gets both gradients; a constant input gets none.
        let frozen = Tensor.normal([2, 3, 2], rng: &rng)
        checkGradients([a]) { concat(lastAxis: [a, frozen, a]) }
        XCTAssertNil(frozen.grad)
        // concat undoes slices.
        let x = Tensor.normal([4, 5], rng: &rng)
        XCTAssertEqual(withoutGrad { concat(lastAxis: [slice(x, lastAxis: 0..<2), slice(x, lastAxis: 2..<5)]) }.array,
                       x.array)
    }

    func testSelectRows() {
        var rng = RandomGenerator(seed: 4)
        let x = Tensor.normal([6, 4], rng: &rng)
        let rows = [4, 1, 4, 0]
        let s = withoutGrad { selectRows(x, rows: rows) }
        XCTAssertEqual(s.shape, [4, 4])
        XCTAssertEqual(Array(s.array[8..<12]), Array(x.array[16..<20]))
        checkGradients([x]) { selectRows(x, rows: rows) }
        // (…, C) is viewed as rows of C.
        let y = Tensor.normal([2, 3, 4], rng: &rng)
        checkGradients([y]) { selectRows(y, rows: [5, 0, 2, 5, 3]) }
        XCTAssertEqual(withoutGrad { selectRows(y, rows: []) }.shape, [0, 4])
    }
}
