import XCTest
import Foundation
import Checkpoint
import Config
import Data
import Evaluate
import NN
import Planning
import Train

/// `--resume A/step-N --out B` where B holds another run's checkpoints.
final class ResumeElsewhereTests: XCTestCase {
    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "" } catch { return String(describing: error) }
    }

    func testResumeIntoAFolderOfAnotherRunIsRefused() throws {
        let dir = ScratchDirectory()
        let step5 = try trainedCheckpoint(dir)
        let data = dir.url.appendingPathComponent("data").path
        let b = dir.url.appendingPathComponent("B")
        _ = try train(tinyConfig(dataset: data, maxIters: 5), run: b)
        let metrics = try Foundation.Data(contentsOf: b.appendingPathComponent("metrics.jsonl"))
        let m = message {
            _ = try Pretrainer(PretrainOptions(config: tinyConfig(dataset: data, maxIters: 10), runDirectory: b,
                                               resume: step5.path))
        }
        XCTAssertTrue(m.contains("already holds checkpoints of another run"), m)
        XCTAssertEqual(try Foundation.Data(contentsOf: b.appendingPathComponent("metrics.jsonl")), metrics)
        // Its own run, and an empty folder, still resume.
        XCTAssertNoThrow(try Pretrainer(PretrainOptions(config: tinyConfig(dataset: data, maxIters: 10),
                                                        runDirectory: step5.deletingLastPathComponent(),
                                                        resume: step5.path)))
        XCTAssertNoThrow(try Pretrainer(PretrainOptions(config: tinyConfig(dataset: data, maxIters: 10),
                                                        runDirectory: dir.url.appendingPathComponent("C"),
                                                        resume: step5.path)))
    }
}
