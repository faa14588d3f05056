// embedding: rows are looked up exactly, and the table gradient (a scatter-add, with repeated ids)
// passes a finite-difference check.
import XCTest
import Autograd
import Kernels
import TestSupport

final class EmbeddingGradientTests: XCTestCase {
    func testLookupShapeAndValues() {
        var rng = RandomGenerator(seed: 61)
        let table = Tensor.normal([7, 5], rng: &rng)
        let ids: [Int32] = [6, 0, 3, 3, 1, 6]
        let y = embedding(ids, shape: [2, 3], table: table)
        XCTAssertEqual(y.shape, [2, 3, 5])
        let t = table.array, out = y.array
        for (i, id) in ids.enumerated() {
            XCTAssertEqual(Array(out[(i * 5)..<((i + 1) * 5)]), Array(t[(Int(id) * 5)..<((Int(id) + 1) * 5)]))
        }
    }

    func testTableGradientWithRepeatedIds() {
        var rng = RandomGenerator(seed: 62)
        let table = Tensor.normal([6, 5], rng: &rng)
        let ids: [Int32] = [3, 0, 3, 5, 1, 3, 0, 2]  // id 4 unused: its gradient must stay zero
        checkGradients([table]) { embedding(ids, shape: [2, 4], table: table) }
        XCTAssert(table.grad!.array[(4 * 5)..<(5 * 5)].allSatisfy { $0 == 0 })
    }

    func testEmptyIds() {
        let table = Tensor.ones([3, 4], requiresGrad: true)
        let y = embedding([], shape: [0], table: table)
        XCTAssertEqual(y.shape, [0, 4])
    }
}
