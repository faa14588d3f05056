import XCTest
import Foundation
import Checkpoint
import Train

/// Ctrl-C or SIGTERM that lands while a scheduled checkpoint is written: the loop's interrupt save
/// asks for the same step with the same state, which is that checkpoint, so the run stops cleanly
/// (the CLI exits 130) instead of failing with "a checkpoint for step N already exists".
final class SignalDuringCheckpointTests: XCTestCase {
    override func tearDown() { Interrupt.simulate(false) }

    func testAnInterruptDuringAScheduledCheckpointStopsCleanly() throws {
        let dir = ScratchDirectory()
        let data = try prepareCharDataset(in: dir.url)
        let run = dir.url.appendingPathComponent("run")
        let (_, _, result) = try train(tinyConfig(dataset: data, maxIters: 20), run: run) { event in
            if case let .checkpoint(_, step) = event, step == 5 { Interrupt.simulate() }
        }
        Interrupt.simulate(false)
        XCTAssertTrue(result.interrupted)
        XCTAssertEqual(result.step, 5)
        XCTAssertEqual(try CheckpointStore(runDirectory: run).checkpoints().map(\.step), [5])
        // And the run resumes from it.
        let resumed = try train(tinyConfig(dataset: data, maxIters: 10), run: run, resume: "auto")
        XCTAssertEqual(resumed.result.step, 10)
    }
}
