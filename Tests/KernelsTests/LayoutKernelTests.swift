// Layout kernels (head split/merge, column slice/concat, row gather/scatter-add) against index-by-index
// loops, including the accumulation of their backward forms.
import XCTest
import Kernels

final class LayoutKernelTests: XCTestCase {
    private func random(_ n: Int, seed: UInt64) -> [Float] {
        var rng = RandomGenerator(seed: seed)
        return (0..<n).map { _ in rng.nextNormal() }
    }

    func testSplitAndMergeHeads() {
        for (B, T, NH, hs) in [(1, 1, 1, 1), (2, 3, 2, 4), (3, 70, 5, 7), (4, 64, 6, 64)] {
            let C = NH * hs, n = B * T * C
            let x = random(n, seed: UInt64(n))
            // Expected split: out[b, h, t, d] = x[b, t, h·hs + d].
            var want = [Float](repeating: 0, count: n)
            for b in 0..<B { for h in 0..<NH { for t in 0..<T { for d in 0..<hs {
                want[((b * NH + h) * T + t) * hs + d] = x[(b * T + t) * C + h * hs + d]
            } } } }
            var split = [Float](repeating: .nan, count: n)
            splitHeadsForward(&split, x, B: B, T: T, NH: NH, hs: hs)
            XCTAssertEqual(split, want, "split B=\(B) T=\(T) NH=\(NH) hs=\(hs)")
            var merged = [Float](repeating: .nan, count: n)
            mergeHeadsForward(&merged, split, B: B, T: T, NH: NH, hs: hs)
            XCTAssertEqual(merged, x, "merge undoes split")

            // Backward forms accumulate: split's backward is merge added in, and vice versa.
            var dx = [Float](repeating: 1, count: n)
            splitHeadsBackward(&dx, split, B: B, T: T, NH: NH, hs: hs)
            XCTAssertEqual(dx, x.map { $0 + 1 }, "splitHeadsBackward")
            var dh = [Float](repeating: 1, count: n)
            mergeHeadsBackward(&dh, x, B: B, T: T, NH: NH, hs: hs)
            XCTAssertEqual(dh, split.map { $0 + 1 }, "mergeHeadsBackward")
        }
    }

    func testSliceAndConcatColumns() {
        for (rows, cols, start, width) in [(1, 1, 0, 1), (3, 7, 2, 3), (5, 9, 0, 9), (4, 6, 6, 0), (700, 100, 37, 50)] {
            let x = random(rows * cols, seed: UInt64(rows * cols + start))
            var want = [Float](), out = [Float](repeating: .nan, count: rows * width)
            for r in 0..<rows { for j in start..<(start + width) { want.append(x[r * cols + j]) } }
            sliceColumnsForward(&out, x, rows: rows, cols: cols, start: start, width: width)
            XCTAssertEqual(out, want, "slice \(rows)×\(cols)[\(start)..<\(start + width)]")

            var dx = [Float](repeating: 2, count: rows * cols)
            sliceColumnsBackward(&dx, out, rows: rows, cols: cols, start: start, width: width)
            for r in 0..<rows { for j in 0..<cols {
                let inside = j >= start && j < start + width
                XCTAssertEqual(dx[r * cols + j], inside ? x[r * cols + j] + 2 : 2)
            } }

            // Concat places the slice back; its backward reads it out again (accumulating).
            var placed = [Float](repeating: 0, count: rows * cols)
            concatColumnsForward(&placed, out, rows: rows, cols: cols, start: start, width: width)
            for r in 0..<rows { for j in 0..<cols {
                let inside = j >= start && j < start + width
                XCTAssertEqual(placed[r * cols + j], inside ? x[r * cols + j] : 0)
            } }
            var dpart = [Float](repeating: -1, count: rows * width)
            concatColumnsBackward(&dpart, x, rows: rows, cols: cols, start: start, width: width)
            XCTAssertEqual(dpart, want.map { $0 - 1 }, "concatColumnsBackward")
        }
    }

    func testGatherAndScatterAddRows() {
        for (N, cols, index) in [(1, 1, [0, 0]), (6, 4, [4, 1, 4, 0]),
                                 (50, 300, Array(stride(from: 49, through: 0, by: -3)) + [7, 7, 7])] {
            let x = random(N * cols, seed: UInt64(N * cols))
            var out = [Float](repeating: .nan, count: index.count * cols)
            gatherRowsForward(&out, x, index: index, count: index.count, cols: cols)
            for (i, r) in index.enumerated() {
                XCTAssertEqual(Array(out[(i * cols)..<((i + 1) * cols)]), Array(x[(r * cols)..<((r + 1) * cols)]),
                               "row \(i)")
            }
            // Scatter-add with repeated rows, in Double for the expected value.
            let g = random(index.count * cols, seed: 99)
            var want = [Double](repeating: 0.5, count: N * cols)
            for (i, r) in index.enumerated() { for j in 0..<cols { want[r * cols + j] += Double(g[i * cols + j]) } }
            var dx = [Float](repeating: 0.5, count: N * cols)
            gatherRowsBackward(&dx, g, index: index, count: index.count, cols: cols)
            for i in 0..<dx.count { XCTAssertEqual(Double(dx[i]), want[i], accuracy: 1e-5, "dx[\(i)]") }
        }
    }
}
