import XCTest
import Foundation
import Checkpoint
import Evaluate
import Train

/// Each tensor file's SHA-256 is recorded in state.json and checked on load: a flipped bit is refused
/// with one line naming the file, --no-verify loads it anyway, and checkpoints without the record
/// (written before it existed) load unchecked.
final class TensorDigestTests: XCTestCase {
    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "" } catch { return String(describing: error) }
    }

    /// Flips the lowest mantissa bit of the first tensor value of `file` (the value stays finite).
    func flipBit(_ file: URL) throws {
        var bytes = [UInt8](try Foundation.Data(contentsOf: file))
        let header = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        bytes[8 + header] ^= 1
        try Foundation.Data(bytes).write(to: file)
    }

    func stateObject(_ checkpoint: URL) throws -> [String: Any] {
        let url = checkpoint.appendingPathComponent(CheckpointStore.stateFile)
        return try JSONSerialization.jsonObject(with: Foundation.Data(contentsOf: url)) as! [String: Any]
    }

    /// Runs `tinygpt` with exactly these arguments (runTinyGPT adds --threads, which sample lacks).
    func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let p = Process(), pipe = Pipe()
        p.executableURL = tinygptBinary
        p.arguments = arguments
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, output)
    }

    func sha256sum(_ file: URL) throws -> String {
        let p = Process(), pipe = Pipe()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        p.arguments = [file.path]
        p.standardOutput = pipe
        try p.run()
        p.waitUntilExit()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return String(out.prefix(64))
    }

    func testStateRecordsTheDigestOfEveryTensorFile() throws {
        let dir = ScratchDirectory()
        let step5 = try trainedCheckpoint(dir)
        let record = try XCTUnwrap(try stateObject(step5)["sha256"] as? [String: String])
        XCTAssertEqual(Set(record.keys), [CheckpointStore.modelFile, CheckpointStore.optimizerFile])
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/sha256sum") {
            for (name, digest) in record {
                XCTAssertEqual(try sha256sum(step5.appendingPathComponent(name)), digest, name)
            }
        }
    }

    func testAFlippedBitIsRefusedAndNoVerifyLoadsIt() throws {
        let dir = ScratchDirectory()
        let step5 = try trainedCheckpoint(dir)
        let model = step5.appendingPathComponent(CheckpointStore.modelFile)
        try flipBit(model)
        let m = message { _ = try LoadedModel(checkpoint: step5.path) }
        XCTAssertTrue(m.hasPrefix("\(model.path): sha256 mismatch (state.json records "), m)
        XCTAssertTrue(m.hasSuffix("the file is damaged — use --no-verify to load it anyway"), m)
        XCTAssertFalse(m.contains("\n"), m)
        XCTAssertNoThrow(try LoadedModel(checkpoint: step5.path, verify: false))
    }

    func testResumeChecksTheOptimizerMoments() throws {
        let dir = ScratchDirectory()
        let step5 = try trainedCheckpoint(dir)
        let moments = step5.appendingPathComponent(CheckpointStore.optimizerFile)
        try flipBit(moments)
        let data = dir.url.appendingPathComponent("data").path
        let run = step5.deletingLastPathComponent()
        let config = tinyConfig(dataset: data, maxIters: 8)
        let m = message { _ = try Pretrainer(PretrainOptions(config: config, runDirectory: run, resume: "auto")) }
        XCTAssertTrue(m.hasPrefix("\(moments.path): sha256 mismatch"), m)
        let unchecked = try Pretrainer(PretrainOptions(config: config, runDirectory: run, resume: "auto",
                                                       verifyCheckpoints: false))
        XCTAssertEqual(try unchecked.run().step, 8)
    }

    func testACheckpointWithoutDigestsLoadsUnchecked() throws {
        let dir = ScratchDirectory()
        let step5 = try trainedCheckpoint(dir)
        let url = step5.appendingPathComponent(CheckpointStore.stateFile)
        var o = try stateObject(step5)
        o.removeValue(forKey: "sha256")
        try JSONSerialization.data(withJSONObject: o, options: [.prettyPrinted, .sortedKeys]).write(to: url)
        XCTAssertNoThrow(try LoadedModel(checkpoint: step5.path))
        try flipBit(step5.appendingPathComponent(CheckpointStore.modelFile))
        XCTAssertNoThrow(try LoadedModel(checkpoint: step5.path))
        // And a resumed run continues from it.
        let data = dir.url.appendingPathComponent("data").path
        let resumed = try train(tinyConfig(dataset: data, maxIters: 8), run: step5.deletingLastPathComponent(),
                                resume: step5.path)
        XCTAssertEqual(resumed.result.step, 8)
    }

    func testAMalformedRecordIsRefused() throws {
        let dir = ScratchDirectory()
        let step5 = try trainedCheckpoint(dir)
        let url = step5.appendingPathComponent(CheckpointStore.stateFile)
        var o = try stateObject(step5)
        o["sha256"] = ["model.safetensors": "not hex"]
        try JSONSerialization.data(withJSONObject: o).write(to: url)
        let m = message { _ = try LoadedModel(checkpoint: step5.path) }
        XCTAssertTrue(m.contains("\"sha256.model.safetensors\" must be 64 lower-case hexadecimal digits"), m)
    }

    func testTheCommandsRefuseADamagedFileUnlessToldNotToCheck() throws {
        guard FileManager.default.isExecutableFile(atPath: tinygptBinary.path) else {
            throw XCTSkip("\(tinygptBinary.path) is not built (swift build -c release)")
        }
        let dir = ScratchDirectory()
        let step5 = try trainedCheckpoint(dir)
        try flipBit(step5.appendingPathComponent(CheckpointStore.modelFile))
        let sample = ["sample", "--checkpoint", step5.path, "--max-new-tokens", "3"]
        let refused = try run(sample)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.output.contains("sha256 mismatch"), refused.output)
        let loaded = try run(sample + ["--no-verify"])
        XCTAssertEqual(loaded.status, 0, loaded.output)
        let export = try run(["export", "--checkpoint", step5.path, "--format", "hf",
                              "--out", dir.url.appendingPathComponent("hf").path])
        XCTAssertTrue(export.output.contains("sha256 mismatch"), export.output)
        XCTAssertNotEqual(export.status, 0)
    }
}
