// BufferPool: size classes, reuse of freed buffers, zero-filling of reused buffers, and the idle cap.
import XCTest
import Kernels

final class BufferPoolTests: XCTestCase {
    override func tearDown() {
        BufferPool.capacityBytes = nil
        super.tearDown()
    }

    func testSizeClassesBoundTheSlack() {
        var previous = 0
        for count in [1, 100, 4095, 4096, 4097, 5000, 8191, 8192, 65_537, 1_000_000, 12_345_678] {
            let c = BufferPool.classCount(count)
            XCTAssertGreaterThanOrEqual(c, count, "class of \(count)")
            XCTAssertGreaterThanOrEqual(c, previous, "classes must grow with the count (\(count))")
            if count >= BufferPool.minimumCount {
                XCTAssertLessThanOrEqual(Double(c), Double(count) * 1.125, "slack of \(count) → \(c)")
                XCTAssertEqual(c, BufferPool.classCount(c), "a class count is its own class")
            } else {
                XCTAssertEqual(c, count, "small counts are not rounded")
            }
            previous = c
        }
        XCTAssertEqual(BufferPool.classCount(4097), BufferPool.classCount(4600), "same class for nearby counts")
    }

    func testFreedBufferIsReusedAndZeroedOnRequest() {
        BufferPool.drain()
        let count = 10_000
        let p = BufferPool.take(count, zeroed: false)
        p.update(repeating: 7, count: count)
        BufferPool.give(p, count: count)
        XCTAssertEqual(BufferPool.idleBytes, BufferPool.classCount(count) * 4)
        // A nearby count of the same class gets the same buffer back, zero-filled.
        let q = BufferPool.take(count - 3, zeroed: true)
        XCTAssertEqual(q, p, "the idle buffer of the same class should be reused")
        XCTAssertEqual(BufferPool.idleBytes, 0)
        for i in 0..<(count - 3) where q[i] != 0 { XCTFail("element \(i) is \(q[i]) after a zeroed take"); break }
        BufferPool.give(q, count: count - 3)
        BufferPool.drain()
        XCTAssertEqual(BufferPool.idleBytes, 0)
    }

    func testIdleBytesStayUnderTheCap() {
        BufferPool.drain()
        BufferPool.capacityBytes = 100_000
        let a = BufferPool.take(20_000, zeroed: false), b = BufferPool.take(20_000, zeroed: false)
        BufferPool.give(a, count: 20_000)   // 80 KB: kept
        BufferPool.give(b, count: 20_000)   // would make 160 KB: freed instead
        XCTAssertEqual(BufferPool.idleBytes, BufferPool.classCount(20_000) * 4)
        BufferPool.capacityBytes = 0        // lowering the cap frees what is idle
        XCTAssertEqual(BufferPool.idleBytes, 0)
    }

    func testDefaultCapFollowsPeakUse() {
        BufferPool.drain()
        BufferPool.capacityBytes = nil
        // Hand out more than the default floor at once: all of it may then be kept idle.
        let count = 40 << 20  // 160 MiB per buffer
        let a = BufferPool.take(count, zeroed: false), b = BufferPool.take(count, zeroed: false)
        XCTAssertGreaterThanOrEqual(BufferPool.peakBytesInUse, 2 * count * 4)
        BufferPool.give(a, count: count)
        BufferPool.give(b, count: count)
        XCTAssertEqual(BufferPool.idleBytes, 2 * BufferPool.classCount(count) * 4)
        BufferPool.drain()
    }

    func testSmallBuffersBypassThePool() {
        BufferPool.drain()
        let p = BufferPool.take(100, zeroed: true)
        for i in 0..<100 { XCTAssertEqual(p[i], 0) }
        BufferPool.give(p, count: 100)
        XCTAssertEqual(BufferPool.idleBytes, 0)
    }
}
