// The opt-in profiler: nothing is recorded while it is off; when on, forward and backward time is
// charged to the operation that ran, and top-level sgemm calls to the BLAS total.
import XCTest
import Autograd
import Kernels

final class ProfilerTests: XCTestCase {
    override func tearDown() {
        Profiler.isEnabled = false
        Profiler.reset()
        Tape.current.reset()
        super.tearDown()
    }

    private func linearStep() {
        var rng = RandomGenerator(seed: 1)
        let x = Tensor.normal([8, 16], rng: &rng, requiresGrad: true)
        let w = Tensor.normal([4, 16], rng: &rng, requiresGrad: true)
        Tape.current.reset()
        sum(gelu(linear(x, weight: w))).backward()
    }

    func testOffRecordsNothing() {
        Profiler.reset()
        Profiler.isEnabled = false
        linearStep()
        XCTAssertTrue(Profiler.totals().isEmpty, "profiler recorded while off: \(Profiler.totals())")
    }

    func testOnChargesEachOperationAndDirection() {
        Profiler.reset()
        Profiler.isEnabled = true
        linearStep()
        Profiler.isEnabled = false
        let totals = Profiler.totals()
        func calls(_ op: ProfiledOp, backward: Bool) -> Int {
            totals.first { $0.op == op && $0.backward == backward }?.calls ?? 0
        }
        XCTAssertEqual(calls(.linear, backward: false), 1)
        XCTAssertEqual(calls(.linear, backward: true), 1)
        XCTAssertEqual(calls(.gelu, backward: false), 1)
        XCTAssertEqual(calls(.gelu, backward: true), 1)
        XCTAssertEqual(calls(.reduction, backward: false), 1)
        // linear: one sgemm forward, two backward (dx and dW).
        XCTAssertEqual(calls(.sgemm, backward: false), 3)
        XCTAssertEqual(calls(.attention, backward: false), 0)
        Profiler.reset()
        XCTAssertTrue(Profiler.totals().isEmpty)
    }
}
