// embeddingForward/embeddingBackward: rows are copied exactly, and the scatter-add equals a serial
// reference bit for bit (contributions to a row are added in id order) at any thread count.
import XCTest
import Kernels

final class EmbeddingKernelTests: XCTestCase {
    func ids(_ n: Int, vocab: Int, seed: UInt64) -> [Int32] {
        var rng = RandomGenerator(seed: seed)
        // A small vocabulary range makes repeated ids (and so accumulation) frequent.
        return (0..<n).map { _ in Int32(rng.nextInt(below: vocab)) }
    }

    func testForwardCopiesRows() {
        for (n, v, c) in [(1, 1, 1), (9, 4, 7), (40, 13, 33), (300, 50, 257)] {
            let table = randomFloats(v * c, seed: UInt64(v))
            let id = ids(n, vocab: v, seed: UInt64(n))
            let out = withBuffers([[Float](repeating: 0, count: n * c), table]) { p in
                id.withUnsafeBufferPointer {
                    embeddingForward(p[0], ids: $0.baseAddress!, table: p[1], count: n, channels: c)
                }
            }[0]
            for i in 0..<n {
                XCTAssertEqual(Array(out[(i * c)..<((i + 1) * c)]),
                               Array(table[(Int(id[i]) * c)..<((Int(id[i]) + 1) * c)]),
                               "row \(i) of (\(n), \(v), \(c))")
            }
        }
    }

    func testBackwardEqualsSerialReferenceAtAnyThreadCount() {
        for (n, v, c) in [(1, 1, 1), (9, 4, 7), (40, 13, 33), (300, 50, 257), (2000, 3000, 64)] {
            let dout = randomFloats(n * c, seed: UInt64(n))
            let d0 = randomFloats(v * c, seed: UInt64(v))
            let id = ids(n, vocab: v, seed: UInt64(n + v))
            let want = withBuffers([d0, dout]) { p in
                id.withUnsafeBufferPointer {
                    embeddingBackwardReference(dtable: p[0], dout: p[1], ids: $0.baseAddress!, count: n, channels: c)
                }
            }[0]
            let runs = withThreadCounts([1, 2, 3]) { _ in
                withBuffers([d0, dout]) { p in
                    id.withUnsafeBufferPointer {
                        embeddingBackward(dtable: p[0], dout: p[1], ids: $0.baseAddress!, count: n, vocab: v,
                                          channels: c)
                    }
                }[0]
            }
            for (k, got) in runs.enumerated() { assertBitwiseEqual(got, want, "dtable (\(n), \(v), \(c)), run \(k)") }
        }
    }
}
