import XCTest
import Foundation
import Checkpoint
import Data
import Train

/// init_from: a pretraining run that starts from a checkpoint's weights with a fresh optimizer and
/// step counter, on a dataset with the checkpoint's tokenizer.
final class ContinuedPretrainingTests: XCTestCase {
    func testStartsFromTheCheckpointsWeightsAtStepZero() throws {
        let dir = ScratchDirectory()
        let data = try prepareCharDataset(in: dir.url)
        let base = try train(tinyConfig(dataset: data, maxIters: 5), run: dir.url.appendingPathComponent("base"))

        var config = tinyConfig(dataset: data, maxIters: 3)
        config.initFrom = dir.url.appendingPathComponent("base").path
        config.nLayer = 3           // ignored: the checkpoint's shape wins, as in nanoGPT
        config.learningRate = 0; config.minLR = 0
        let run = dir.url.appendingPathComponent("continued")
        var firstStep: Int?
        let continued = try train(config, run: run) { event in
            if case let .pretrainStarted(_, _, start, _) = event { firstStep = start }
        }
        XCTAssertEqual(firstStep, 0)
        XCTAssertEqual(continued.result.step, 3)
        // Learning rate 0: AdamW's update is lr times the moment ratio, so the weights stay the base's
        // except where weight decay (also scaled by lr) would act.
        XCTAssertEqual(continued.weights, base.weights)
        let state = try RunState.decode(try CheckpointStore.readState(from: run.appendingPathComponent("step-000003")),
                                        source: "state.json")
        XCTAssertEqual(state.model.nLayer, 2)
        XCTAssertEqual(state.extra["init_from"] as? String,
                       dir.url.appendingPathComponent("base/step-000005").resolvingSymlinksInPath().path)
    }

    func testRefusesAnotherTokenizer() throws {
        let dir = ScratchDirectory()
        let data = try prepareCharDataset(in: dir.url)
        _ = try train(tinyConfig(dataset: data, maxIters: 2), run: dir.url.appendingPathComponent("base"))
        let otherDir = dir.url.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: otherDir, withIntermediateDirectories: true)
        let other = try prepareCharDataset(in: otherDir, text: String(repeating: "abc abd\n", count: 200))
        var config = tinyConfig(dataset: other, maxIters: 2)
        config.initFrom = dir.url.appendingPathComponent("base").path
        XCTAssertThrowsError(try train(config, run: dir.url.appendingPathComponent("c"))) { error in
            let m = "\(error)"
            XCTAssertTrue(m.hasPrefix("init_from: "), m)
            XCTAssertTrue(m.contains("another tokenizer"), m)
        }
    }

    func testRefusesAMissingCheckpoint() throws {
        let dir = ScratchDirectory()
        let data = try prepareCharDataset(in: dir.url)
        var config = tinyConfig(dataset: data, maxIters: 2)
        config.initFrom = dir.url.appendingPathComponent("nowhere").path
        XCTAssertThrowsError(try train(config, run: dir.url.appendingPathComponent("c"))) { error in
            XCTAssertTrue("\(error)".hasPrefix("init_from: "), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("c").path),
                       "a refused run must leave no run directory")
    }
}
