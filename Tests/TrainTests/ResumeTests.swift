import XCTest
import Foundation
import Train
import Config
import Evaluate
import Planning
import Checkpoint
import Data

/// Resume must be exact: training N steps straight equals training k, stopping, and resuming to N,
/// bit for bit (weights and every logged loss), including dropout and data order.
final class ResumeTests: XCTestCase {
    override func tearDown() { Interrupt.simulate(false) }

    func testStopAndResumeIsBitwiseIdentical() throws {
        let dir = ScratchDirectory()
        let data = try prepareCharDataset(in: dir.url)
        let straight = try train(tinyConfig(dataset: data, maxIters: 20), run: dir.url.appendingPathComponent("a"))
        XCTAssertEqual(straight.losses.count, 20)

        let runB = dir.url.appendingPathComponent("b")
        let first = try train(tinyConfig(dataset: data, maxIters: 10), run: runB)
        let second = try train(tinyConfig(dataset: data, maxIters: 20), run: runB, resume: "auto")
        XCTAssertEqual(second.result.step, 20)
        for s in 1...10 { XCTAssertEqual(first.losses[s], straight.losses[s], "loss at step \(s)") }
        for s in 11...20 { XCTAssertEqual(second.losses[s], straight.losses[s], "loss at step \(s) after resume") }
        XCTAssertEqual(second.weights, straight.weights, "final weights differ after resume")
        XCTAssertNil(second.losses[10], "the resumed run must start after step 10")
    }

    func testCtrlCWritesCheckpointAndResumesExactly() throws {
        let dir = ScratchDirectory()
        let data = try prepareCharDataset(in: dir.url)
        var config = tinyConfig(dataset: data, maxIters: 12)
        config.evalInterval = 100  // no periodic checkpoints: only the interrupt writes one
        let straight = try train(config, run: dir.url.appendingPathComponent("a"))

        let runB = dir.url.appendingPathComponent("b")
        let stopped = try train(config, run: runB) { event in
            if case let .step(m) = event, m.step == 7 { Interrupt.simulate() }
        }
        XCTAssertTrue(stopped.result.interrupted)
        XCTAssertEqual(stopped.result.step, 7)
        Interrupt.simulate(false)
        XCTAssertTrue(FileManager.default.fileExists(
            atPath: runB.appendingPathComponent("step-000007/state.json").path))
        let resumed = try train(config, run: runB, resume: runB.appendingPathComponent("step-000007").path)
        for s in 8...12 { XCTAssertEqual(resumed.losses[s], straight.losses[s], "loss at step \(s)") }
        XCTAssertEqual(resumed.weights, straight.weights)
    }

    func testSameSeedSameRunIsDeterministic() throws {
        let dir = ScratchDirectory()
        let data = try prepareCharDataset(in: dir.url)
        let a = try train(tinyConfig(dataset: data, maxIters: 6), run: dir.url.appendingPathComponent("a"))
        let b = try train(tinyConfig(dataset: data, maxIters: 6), run: dir.url.appendingPathComponent("b"))
        XCTAssertEqual(a.losses, b.losses)
        XCTAssertEqual(a.weights, b.weights)
    }

    func testResumeRefusesDifferentArchitecture() throws {
        let dir = ScratchDirectory()
        let data = try prepareCharDataset(in: dir.url)
        let run = dir.url.appendingPathComponent("a")
        _ = try train(tinyConfig(dataset: data, maxIters: 5), run: run)
        var other = tinyConfig(dataset: data, maxIters: 10)
        other.nEmbd = 32
        XCTAssertThrowsError(try train(other, run: run, resume: "auto")) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("step-000005"), text)
        }
    }

    func testTrainingReducesLoss() throws {
        let dir = ScratchDirectory()
        let data = try prepareCharDataset(in: dir.url)
        var config = tinyConfig(dataset: data, maxIters: 150)
        config.dropout = 0
        config.learningRate = 1e-2; config.minLR = 1e-3; config.lrDecayIters = 150
        config.evalInterval = 150
        let run = try train(config, run: dir.url.appendingPathComponent("a"))
        let early = (1...5).map { Double(run.losses[$0]!) }.reduce(0, +) / 5
        let late = (146...150).map { Double(run.losses[$0]!) }.reduce(0, +) / 5
        XCTAssertLessThan(late, early - 0.8, "loss should fall well below its start (\(early) → \(late))")
        XCTAssertNotNil(run.result.finalValLoss)
    }
}
