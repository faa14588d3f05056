import XCTest
import Foundation
import Train
import Config
import Evaluate
import Planning
import Checkpoint
import Data

final class TrainConfigTests: XCTestCase {
    func write(_ text: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cfg-\(UUID().uuidString).json")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "" } catch { return String(describing: error) }
    }

    func testFileOverridesDefaultsAndSetOverridesFile() throws {
        let path = try write(#"{"n_layer": 4, "learning_rate": 1e-3, "bias": true}"#)
        var c = try TrainConfig.load(path: path)
        XCTAssertEqual(c.nLayer, 4)
        XCTAssertEqual(c.learningRate, 1e-3)
        XCTAssertEqual(c.nHead, 12)  // default kept
        try c.apply(overrides: ["learning_rate=3e-4", "dataset=data/x", "decay_lr=false"])
        XCTAssertEqual(c.learningRate, 3e-4)
        XCTAssertEqual(c.dataset, "data/x")
        XCTAssertFalse(c.decayLR)
    }

    func testUnknownKeyIsNamedWithSuggestion() throws {
        let path = try write(#"{"learning_rat": 1e-3}"#)
        let m = message { _ = try TrainConfig.load(path: path) }
        XCTAssertTrue(m.hasPrefix(path + ": unknown config key \"learning_rat\""), m)
        XCTAssertTrue(m.contains("did you mean \"learning_rate\""), m)
    }

    func testWrongTypesAndRangesAreErrors() throws {
        XCTAssertTrue(message { _ = try TrainConfig.load(path: try write(#"{"n_layer": "four"}"#)) }
            .contains("\"n_layer\" expects an integer, got \"four\""))
        XCTAssertTrue(message { _ = try TrainConfig.load(path: try write(#"{"bias": 1}"#)) }
            .contains("\"bias\" expects true or false"))
        XCTAssertTrue(message { _ = try TrainConfig.load(path: try write(#"{"n_layer": 2.5}"#)) }
            .contains("expects an integer"))
        XCTAssertTrue(message { _ = try TrainConfig.load(path: try write(#"{"dropout": 1.5}"#)) }
            .contains("\"dropout\" must be < 1"))
        XCTAssertTrue(message { _ = try TrainConfig.load(path: try write(#"{"n_head": 5, "n_embd": 128}"#)) }
            .contains("n_head (5) must divide n_embd (128)"))
        XCTAssertTrue(message { _ = try TrainConfig.load(path: try write(#"[1, 2]"#)) }.contains("JSON object"))
        XCTAssertTrue(message { _ = try TrainConfig.load(path: try write(#"{"n_layer": 4"#)) }
            .contains("not valid JSON"))
        XCTAssertTrue(message { _ = try TrainConfig.load(path: "/nonexistent/config.json") }
            .contains("/nonexistent/config.json: cannot read config file"))
        var c = TrainConfig()
        XCTAssertTrue(message { try c.apply(overrides: ["max_iters"]) }.contains("expected key=value"))
    }

    func testBundledConfigsLoadWithPublishedShapes() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let cpu = try TrainConfig.load(path: root.appendingPathComponent("configs/shakespeare-char-cpu.json").path)
        XCTAssertEqual([cpu.nLayer, cpu.nHead, cpu.nEmbd, cpu.blockSize, cpu.batchSize, cpu.maxIters],
                       [4, 4, 128, 64, 12, 2000])
        XCTAssertEqual(cpu.beta2, 0.99); XCTAssertEqual(cpu.minLR, 1e-4); XCTAssertFalse(cpu.bias)
        let baby = try TrainConfig.load(path: root.appendingPathComponent("configs/shakespeare-char.json").path)
        XCTAssertEqual([baby.nLayer, baby.nHead, baby.nEmbd, baby.blockSize, baby.batchSize, baby.maxIters],
                       [6, 6, 384, 256, 64, 5000])
        let gpt2 = try TrainConfig.load(path: root.appendingPathComponent("configs/gpt2-124m.json").path)
        XCTAssertEqual(gpt2.vocabSize, 50257)
        let gpt1 = try TrainConfig.load(path: root.appendingPathComponent("configs/gpt1.json").path)
        XCTAssertEqual([gpt1.vocabSize, gpt1.blockSize, gpt1.nLayer], [40478, 512, 12])
    }

    func testEffectiveConfigRoundTripsThroughJSON() throws {
        var c = TrainConfig()
        c.vocabSize = 65; c.learningRate = 1.25e-3; c.bias = true
        var d = TrainConfig()
        try d.apply(json: c.jsonObject, source: "round trip")
        XCTAssertEqual(c, d)
    }
}
