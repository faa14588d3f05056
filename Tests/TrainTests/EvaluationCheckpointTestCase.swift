import XCTest
import Foundation
import Config
import Evaluate
import Planning
import Checkpoint
import Data

/// Base for the evaluation test classes: one small trained checkpoint per class, built by
/// `makeEvaluationCheckpoint` in a scratch directory that goes away after the class's tests.
class EvaluationCheckpointTestCase: XCTestCase {
    nonisolated(unsafe) static var scratch: ScratchDirectory?
    nonisolated(unsafe) static var checkpoint = ""

    override class func setUp() {
        let dir = ScratchDirectory()
        scratch = dir
        checkpoint = try! makeEvaluationCheckpoint(in: dir.url)
    }

    override class func tearDown() { scratch = nil }
}
