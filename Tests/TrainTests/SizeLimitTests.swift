import XCTest
import Foundation
import Checkpoint
import Config
import Data
import Evaluate
import Kernels
import NN
import Planning
import Train

/// The size reproducers of the reliability issue: sizes that used to trap or allocate petabytes in
/// `plan`, and runs that cannot fit in memory. Each now gets a one-line error or a sane report.
final class SizeLimitTests: XCTestCase {
    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "" } catch { return String(describing: error) }
    }

    /// The T: 2 layers, 32 wide, context 32, a 65-token vocabulary, no dataset needed.
    func tinyPlanConfig(_ overrides: [String]) throws -> TrainConfig {
        var c = TrainConfig()
        c.dataset = "/nonexistent/data"
        c.vocabSize = 65
        c.nLayer = 2; c.nHead = 2; c.nEmbd = 32; c.blockSize = 32; c.batchSize = 12
        try c.apply(overrides: overrides, source: "--set")
        return c
    }

    // MARK: plan

    func testPlanRefusesSizesThatCannotBeCountedNamingTheKey() throws {
        for (set, key) in [("block_size=1000000000", "block_size"), ("n_layer=4611686018427387904", "n_layer"),
                           ("n_embd=4611686018427387904", "n_embd"),
                           ("gradient_accumulation_steps=4611686018427387904", "gradient_accumulation_steps")] {
            var overrides = [set]
            if key == "n_embd" { overrides.append("n_head=1") }
            let cfg = try tinyPlanConfig(overrides)
            let m = message { _ = try TrainingPlan(config: cfg, source: "T.json") }
            XCTAssertTrue(m.hasPrefix("T.json: "), "\(set): \(m)")
            XCTAssertTrue(m.contains(key), "\(set): \(m)")
            XCTAssertFalse(m.contains("\n"), "\(set): \(m)")
        }
    }

    /// block_size=100000 and n_embd=1000000 are countable: plan reports them (far beyond memory), and
    /// its probe times a capped shape in seconds instead of allocating 160 GB.
    func testPlanOfAHugeButCountableModelReportsQuickly() throws {
        for overrides in [["block_size=100000"], ["n_embd=1000000", "n_head=1"]] {
            let plan = try TrainingPlan(config: try tinyPlanConfig(overrides + ["threads=2"]), source: "T.json")
            // The materialized attention alone would pass 1 TiB at block_size 100000; the tiled one is chosen.
            let materialized = plan.attentionBytes.first { $0.method == .materialized }!.bytes
            XCTAssertGreaterThan(max(plan.memory.total, materialized), 1 << 40, "\(overrides)")
            let start = Date()
            let (estimate, measured) = plan.estimateTime()
            // About 5 s on an idle 2-core machine; the bound leaves room for a busy one (it used to run for
            // minutes and then abort on a 160 GB allocation).
            XCTAssertLessThan(Date().timeIntervalSince(start), 120, "\(overrides)")
            XCTAssertTrue(estimate.stepMs.isFinite && estimate.stepMs > 0, "\(overrides)")
            XCTAssertTrue(measured.attentionForwardSeconds.isFinite, "\(overrides)")
        }
    }

    /// A probe is timed on a capped slice and scaled: the full product's FLOPs over the slice's.
    func testProbeSlicesAWideInnerDimension() {
        let t = ThroughputProbe.time(GemmShape("wide", m: 8, n: 8, k: 100_000_000))
        XCTAssertEqual(t.probeM, 8)
        XCTAssertEqual(t.probeN, 8)
        XCTAssertTrue(t.seconds.isFinite && t.seconds > 0)
    }

    // MARK: memory check

    func testMemoryCheckRefusesWithTheEstimateAndTheMachinesMemory() throws {
        let model = GPTConfig(vocabSize: 65, blockSize: 32, nLayer: 2, nHead: 2, nEmbd: 32)
        let m = message {
            try MemoryCheck.verify(model, batch: 4, time: 32, allowOversubscribe: false, source: "cfg.json",
                                   physicalMemory: 1 << 16)
        }
        XCTAssertTrue(m.hasPrefix("cfg.json: training needs about "), m)
        XCTAssertTrue(m.contains("this machine has 64.0 KiB"), m)
        XCTAssertTrue(m.contains("--allow-oversubscribe"), m)
        XCTAssertFalse(m.contains("\n"), m)
        let allowed = try MemoryCheck.verify(model, batch: 4, time: 32, allowOversubscribe: true, source: "cfg.json",
                                             physicalMemory: 1 << 16)
        XCTAssertEqual(allowed, GPT.trainingMemory(model, batch: 4, time: 32))
    }

    func testPretrainBeyondMemoryIsRefusedBeforeTheRunFolderExists() throws {
        let dir = ScratchDirectory()
        let data = try prepareCharDataset(in: dir.url)
        for overrides in [["block_size=100000"], ["n_layer=1000000"], ["batch_size=1000000000"],
                          ["n_embd=1000000", "n_head=1"], ["n_layer=4611686018427387904"]] {
            var cfg = tinyConfig(dataset: data, maxIters: 2)
            try cfg.apply(overrides: overrides, source: "--set")
            let run = dir.url.appendingPathComponent("run")
            let m = message { _ = try Pretrainer(PretrainOptions(config: cfg, runDirectory: run)) }
            XCTAssertFalse(m.isEmpty, "\(overrides)")
            XCTAssertFalse(m.contains("\n"), m)
            XCTAssertFalse(FileManager.default.fileExists(atPath: run.path), "\(overrides) left \(run.path)")
        }
    }
}
