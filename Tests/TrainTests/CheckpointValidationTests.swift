import XCTest
import Foundation
import Checkpoint
import Config
import Data
import Evaluate
import NN
import Planning
import Train

/// Checkpoints whose state.json or weights are damaged are refused on load with one line.
final class CheckpointValidationTests: XCTestCase {
    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "" } catch { return String(describing: error) }
    }

    func editState(_ checkpoint: URL, _ change: (inout [String: Any]) -> Void) throws {
        let url = checkpoint.appendingPathComponent(CheckpointStore.stateFile)
        var o = try JSONSerialization.jsonObject(with: Foundation.Data(contentsOf: url)) as! [String: Any]
        change(&o)
        try JSONSerialization.data(withJSONObject: o).write(to: url)
    }

    func testDamagedStateIsRefusedOnLoad() throws {
        let dir = ScratchDirectory()
        let step5 = try trainedCheckpoint(dir)
        let cases: [(String, (inout [String: Any]) -> Void)] = [
            ("step must be in 0...", { $0["step"] = -5 }),
            ("step must be in 0...", { $0["step"] = 1 << 62 }),
            ("block_size", { var m = $0["model"] as! [String: Any]; m["block_size"] = 1e12; $0["model"] = m }),
            ("vocab_size", { var m = $0["model"] as! [String: Any]; m["vocab_size"] = 0; $0["model"] = m }),
            ("vocab_size", { var m = $0["model"] as! [String: Any]; m["vocab_size"] = NSNull(); $0["model"] = m }),
            ("the tokenizer has", { var m = $0["model"] as! [String: Any]; m["vocab_size"] = 2; $0["model"] = m }),
            // Found by fuzzing: JSONSerialization trapped on a sampler that is not an object.
            ("\"sampler\" is not a saved data position", { $0["sampler"] = 3 }),
        ]
        for (expected, change) in cases {
            let copy = dir.url.appendingPathComponent("copy-\(UUID().uuidString)")
            try FileManager.default.copyItem(at: step5, to: copy)
            try editState(copy, change)
            let m = message { _ = try LoadedModel(checkpoint: copy.path) }
            XCTAssertTrue(m.contains(expected), "expected \(expected): \(m)")
            XCTAssertFalse(m.contains("\n"), m)
        }
    }

    func testNonFiniteWeightsAreRefusedNamingTheTensor() throws {
        let dir = ScratchDirectory()
        let step5 = try trainedCheckpoint(dir)
        let file = step5.appendingPathComponent(CheckpointStore.modelFile)
        var bytes = [UInt8](try Foundation.Data(contentsOf: file))
        withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { nan in
            for i in 0..<4 { bytes[bytes.count - 4 + i] = nan[i] }
        }
        try Foundation.Data(bytes).write(to: file)
        // Unchecked (the digest would refuse the changed file first).
        let m = message { _ = try LoadedModel(checkpoint: step5.path, verify: false) }
        XCTAssertTrue(m.contains("holds a non-finite value"), m)
        XCTAssertTrue(m.contains("tensor \"transformer."), m)
    }
}

/// A trained tiny run's step-5 checkpoint.
func trainedCheckpoint(_ dir: ScratchDirectory) throws -> URL {
    let data = try prepareCharDataset(in: dir.url)
    let run = dir.url.appendingPathComponent("A")
    _ = try train(tinyConfig(dataset: data, maxIters: 5), run: run)
    return run.appendingPathComponent(CheckpointStore.directoryName(step: 5))
}
