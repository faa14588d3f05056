import XCTest
import Foundation
import Checkpoint
import Train

/// The bad-step guard: a diverging learning rate must never leave a non-finite checkpoint or drop a
/// metrics record; it stops with a message, or rolls back at a lower rate and finishes.
final class BadStepTests: XCTestCase {
    func divergingConfig(data: String) -> TrainConfig {
        var c = tinyConfig(dataset: data, maxIters: 60)
        c.learningRate = 1e3; c.minLR = 0; c.warmupIters = 0; c.dropout = 0
        c.badStepLimit = 3
        return c
    }

    func checkpointsAreFinite(_ run: URL, path: StaticString = #filePath, line: UInt = #line) throws {
        for c in try CheckpointStore(runDirectory: run, keepLast: 100).checkpoints() {
            let file = try SafeTensorsFile(contentsOf: c.url.appendingPathComponent("model.safetensors"))
            for name in file.names {
                let t = try file.tensor(name)
                let finite = UnsafeBufferPointer(start: t.data, count: t.count).allSatisfy(\.isFinite)
                XCTAssertTrue(finite, "\(c.url.lastPathComponent) \(name)", file: path, line: line)
            }
        }
    }

    func records(_ run: URL) throws -> [[String: Any]] {
        try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    func testDivergenceStopsWithAMessageAndKeepsEveryRecord() throws {
        let dir = ScratchDirectory()
        let data = try prepareCharDataset(in: dir.url)
        let run = dir.url.appendingPathComponent("run")
        var warnings: [String] = []
        XCTAssertThrowsError(try train(divergingConfig(data: data), run: run) { e in
            if case let .warning(w) = e { warnings.append(w) }
        }) { error in
            XCTAssertTrue("\(error)".contains("3 bad steps in a row"), "\(error)")
            XCTAssertTrue("\(error)".contains("on_bad_step=rollback"), "\(error)")
        }
        XCTAssertTrue(warnings.contains { $0.contains("its update was skipped") }, "\(warnings)")
        let steps = try records(run).filter { $0["type"] as? String == "step" }
        let last = try XCTUnwrap(steps.last?["step"] as? Int)
        XCTAssertEqual(steps.count, last, "one record per step, non-finite ones included")
        let skipped = steps.filter { $0["skipped"] as? Bool == true }
        XCTAssertEqual(skipped.count, 3)
        XCTAssertTrue(skipped.allSatisfy { ($0["nonfinite"] as? [String])?.isEmpty == false })
        try checkpointsAreFinite(run)
    }

    func testRollbackLowersTheLearningRateAndFinishes() throws {
        let dir = ScratchDirectory()
        let data = try prepareCharDataset(in: dir.url)
        let run = dir.url.appendingPathComponent("run")
        var config = divergingConfig(data: data)
        config.onBadStep = .rollback
        config.rollbackLRScale = 1e-3
        var rollbacks = 0
        let result = try train(config, run: run) { e in
            if case let .warning(w) = e, w.contains("rolled the weights back") { rollbacks += 1 }
        }
        XCTAssertEqual(result.result.step, 60)
        XCTAssertGreaterThan(rollbacks, 0)
        try checkpointsAreFinite(run)
        let state = try RunState.decode(try CheckpointStore.readState(from: run.appendingPathComponent("step-000060")),
                                        source: "state.json")
        XCTAssertLessThan(try XCTUnwrap(state.extra["lr_scale"] as? Double), 1)
    }

    func testALossSpikeIsSkipped() {
        var config = OptimizationConfig()
        config.lossSpikeZScore = 3
        var guardian = BadStepGuard(config)
        for i in 0..<20 {
            let loss = 2 + 0.01 * Double(i % 3)
            XCTAssertNil(guardian.verdict(loss: loss, gradNorm: 1))
            XCTAssertFalse(guardian.record(loss: loss, bad: false))
        }
        XCTAssertNotNil(guardian.verdict(loss: 5, gradNorm: 1))
        XCTAssertNil(guardian.verdict(loss: 2.01, gradNorm: 1))
        XCTAssertNotNil(guardian.verdict(loss: 2, gradNorm: .infinity))
        for _ in 0..<4 { XCTAssertFalse(guardian.record(loss: 5, bad: true)) }
        XCTAssertTrue(guardian.record(loss: 5, bad: true), "the fifth bad step in a row reaches the default limit")
    }
}
