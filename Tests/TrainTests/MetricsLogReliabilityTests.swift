import XCTest
import Foundation
import Checkpoint
import Config
import Data
import Evaluate
import NN
import Planning
import Train

/// metrics.jsonl on a full disk (/dev/full) and after a torn write.
final class MetricsLogReliabilityTests: XCTestCase {
    func testAFullDiskIsRecordedAsAOneLineErrorNotATrap() throws {
        guard FileManager.default.fileExists(atPath: "/dev/full") else { throw XCTSkip("no /dev/full here") }
        let log = try MetricsLog(url: URL(fileURLWithPath: "/dev/full"))
        log.append(["step": 1, "loss": 2.5])
        log.append(["step": 2, "loss": 2.4])
        let failure = try XCTUnwrap(log.failure)
        XCTAssertTrue(failure.description.hasPrefix("/dev/full: cannot append to the metrics log ("),
                      failure.description)
        XCTAssertFalse(failure.description.contains("\n"))
    }

    func testResumeDropsATornLastLine() throws {
        let dir = ScratchDirectory()
        let url = dir.url.appendingPathComponent("metrics.jsonl")
        try "{\"step\":1}\n{\"step\":2}\n{\"step\":3,\"lo".write(to: url, atomically: true, encoding: .utf8)
        try MetricsLog.truncate(url: url, afterStep: 5)
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "{\"step\":1}\n{\"step\":2}\n")
        try "{\"step\":1}\n{\"step\":2}\n".write(to: url, atomically: true, encoding: .utf8)
        try MetricsLog.truncate(url: url, afterStep: 1)
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "{\"step\":1}\n")
    }
}
