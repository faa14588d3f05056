import XCTest
import Foundation
import Checkpoint
import Config
import Data
import Evaluate
import NN
import Planning
import Train

/// FIFOs and devices where a file is expected are refused by name instead of blocking in open().
final class NonRegularFileTests: XCTestCase {
    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "" } catch { return String(describing: error) }
    }

    func testFIFOsAreRefusedByName() throws {
        let dir = ScratchDirectory()
        let fifo = dir.url.appendingPathComponent("shard.bin").path
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        let shard = message { _ = try TokenShard(url: URL(fileURLWithPath: fifo)) }
        XCTAssertEqual(shard, "\(fifo): is a FIFO, not a regular file (expected a token shard)")
        let config = message { _ = try TrainConfig.load(path: fifo) }
        XCTAssertTrue(config.hasPrefix("\(fifo): is not a regular file"), config)
        let weights = message { _ = try SafeTensorsFile(contentsOf: URL(fileURLWithPath: fifo)) }
        XCTAssertTrue(weights.contains("is a FIFO"), weights)
        let tokenizer = message { _ = try TokenizerLoader.load(URL(fileURLWithPath: fifo)) }
        XCTAssertTrue(tokenizer.contains("is a FIFO"), tokenizer)
        let device = message { _ = try TrainConfig.load(path: "/dev/zero") }
        XCTAssertTrue(device.hasPrefix("/dev/zero: is not a regular file"), device)
    }

    /// A prepared dataset whose train shard is replaced by a FIFO: pretrain fails at once, naming it.
    func testPretrainWithAFIFOShardFailsInsteadOfHanging() throws {
        let dir = ScratchDirectory()
        let data = try prepareCharDataset(in: dir.url)
        let shards = try FileManager.default.contentsOfDirectory(atPath: data).filter { $0.hasSuffix(".bin") }.sorted()
        let shard = URL(fileURLWithPath: data).appendingPathComponent(try XCTUnwrap(shards.first)).path
        try FileManager.default.removeItem(atPath: shard)
        XCTAssertEqual(mkfifo(shard, 0o644), 0)
        let m = message {
            _ = try Pretrainer(PretrainOptions(config: tinyConfig(dataset: data, maxIters: 2),
                                               runDirectory: dir.url.appendingPathComponent("run")))
        }
        XCTAssertTrue(m.contains("\(shard): is a FIFO"), m)
    }
}
