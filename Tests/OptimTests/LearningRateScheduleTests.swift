import XCTest
import Optim

final class LearningRateScheduleTests: XCTestCase {
    // nanoGPT's shakespeare-char CPU recipe: warmup 100, lr_decay_iters 2000, 1e-3 -> 1e-4.
    let schedule = LearningRateSchedule(learningRate: 1e-3, minLR: 1e-4, warmupIters: 100, lrDecayIters: 2000)

    func testWarmupIsLinearFromOneStepIn() {
        // lr·(it+1)/(warmup+1): it 0 -> 1e-3/101, it 50 -> 51e-3/101, it 99 -> 100e-3/101.
        XCTAssertEqual(schedule.lr(at: 0), 9.900990099009901e-6, accuracy: 1e-18)
        XCTAssertEqual(schedule.lr(at: 50), 5.0495049504950495e-4, accuracy: 1e-16)
        XCTAssertEqual(schedule.lr(at: 99), 9.900990099009901e-4, accuracy: 1e-16)
    }

    func testCosineDecay() {
        // it 100: ratio 0, coeff 1 -> 1e-3 (the peak).
        XCTAssertEqual(schedule.lr(at: 100), 1e-3, accuracy: 1e-16)
        // it 575: ratio 475/1900 = 1/4, coeff (1 + cos(π/4))/2 = 0.8535533905932737
        //   -> 1e-4 + 0.8535533905932737 · 9e-4 = 8.681980515339464e-4.
        XCTAssertEqual(schedule.lr(at: 575), 8.681980515339464e-4, accuracy: 1e-16)
        // it 1050: ratio 950/1900 = 1/2, coeff 1/2 -> 1e-4 + 4.5e-4 = 5.5e-4.
        XCTAssertEqual(schedule.lr(at: 1050), 5.5e-4, accuracy: 1e-16)
        // it 2000: ratio 1, coeff 0 -> min_lr.
        XCTAssertEqual(schedule.lr(at: 2000), 1e-4, accuracy: 1e-16)
    }

    func testFloorAfterDecay() {
        XCTAssertEqual(schedule.lr(at: 2001), 1e-4)
        XCTAssertEqual(schedule.lr(at: 2500), 1e-4)
    }

    func testMonotoneAroundThePeak() {
        // Rises through warm-up, falls afterwards.
        for it in 0..<99 { XCTAssertLessThan(schedule.lr(at: it), schedule.lr(at: it + 1), "it \(it)") }
        for it in 100..<2000 { XCTAssertGreaterThan(schedule.lr(at: it), schedule.lr(at: it + 1), "it \(it)") }
    }

    func testConstantWhenDecayIsOff() {
        var s = schedule
        s.decayLR = false
        for it in [0, 50, 100, 1050, 2500] { XCTAssertEqual(s.lr(at: it), 1e-3) }
        XCTAssertEqual(LearningRateSchedule.constant(3e-4).lr(at: 7), 3e-4)
    }

    func testNoWarmupAndDegenerateSpan() {
        let noWarmup = LearningRateSchedule(learningRate: 1e-3, minLR: 0, warmupIters: 0, lrDecayIters: 10)
        XCTAssertEqual(noWarmup.lr(at: 0), 1e-3)
        XCTAssertEqual(noWarmup.lr(at: 10), 0)
        // warmup == lr_decay_iters: the peak at that step, the floor after it (no division by zero).
        let flat = LearningRateSchedule(learningRate: 1e-3, minLR: 1e-5, warmupIters: 5, lrDecayIters: 5)
        XCTAssertEqual(flat.lr(at: 5), 1e-3)
        XCTAssertEqual(flat.lr(at: 6), 1e-5)
    }
}
