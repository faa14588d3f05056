import XCTest
import Foundation
import NN
import Train
import Config
import Evaluate
import Planning
import Checkpoint
import Data

final class TrainingPlanTests: XCTestCase {
    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "" } catch { return String(describing: error) }
    }

    func cpuRecipe(dataset: String) -> TrainConfig {
        var c = TrainConfig()
        c.dataset = dataset
        c.nLayer = 4; c.nHead = 4; c.nEmbd = 128; c.blockSize = 64; c.bias = false
        c.batchSize = 12; c.maxIters = 2000; c.evalInterval = 250; c.evalIters = 20
        return c
    }

    func testVocabularyComesFromTheDatasetTokenizerWhenTheConfigHasNone() throws {
        let dir = ScratchDirectory()
        let data = try prepareCharDataset(in: dir.url)
        let plan = try TrainingPlan(config: cpuRecipe(dataset: data), source: "cfg.json")
        let chars = Set(syntheticCorpus()).count
        XCTAssertEqual(plan.model.vocabSize, chars)
        XCTAssertEqual(plan.config.vocabSize, chars)
        XCTAssertTrue(plan.vocabularyFromDataset)
    }

    func testMissingVocabularyAndUnpreparedDatasetIsAOneLineError() {
        let m = message { _ = try TrainingPlan(config: cpuRecipe(dataset: "/nonexistent/data"), source: "cfg.json") }
        XCTAssertTrue(m.hasPrefix("cfg.json: has no vocab_size"), m)
        XCTAssertTrue(m.contains("/nonexistent/data"), m)
        XCTAssertTrue(m.contains("--vocab-size"), m)
        XCTAssertFalse(m.contains("\n"), m)
    }

    func testConfiguredVocabularyNeedsNoDataset() throws {
        var c = cpuRecipe(dataset: "/nonexistent/data")
        c.vocabSize = 65
        let plan = try TrainingPlan(config: c, source: "cfg.json")
        XCTAssertEqual(plan.model.vocabSize, 65)
        XCTAssertFalse(plan.vocabularyFromDataset)
    }

    func testVocabularySmallerThanTheDatasetsIsAnError() throws {
        let dir = ScratchDirectory()
        var c = cpuRecipe(dataset: try prepareCharDataset(in: dir.url))
        c.vocabSize = 3
        let m = message { _ = try TrainingPlan(config: c, source: "cfg.json") }
        XCTAssertTrue(m.contains("vocab_size: 3 is smaller than the dataset tokenizer's"), m)
    }

    func testInvalidModelShapeNamesTheConfig() {
        var c = cpuRecipe(dataset: "/nonexistent/data")
        c.vocabSize = 65
        c.nHead = 3
        let m = message { _ = try TrainingPlan(config: c, source: "cfg.json") }
        XCTAssertTrue(m.hasPrefix("cfg.json: "), m)
        XCTAssertTrue(m.contains("n_head"), m)
    }

    func testFiguresFollowFromTheModel() throws {
        var c = cpuRecipe(dataset: "/nonexistent/data")
        c.vocabSize = 65
        c.gradientAccumulationSteps = 3
        let plan = try TrainingPlan(config: c, source: "cfg.json")
        let n = GPT.parameterCount(plan.model)
        XCTAssertEqual(plan.parameters.total, n)
        XCTAssertEqual(plan.flopsPerToken, plan.model.flopsPerToken)
        XCTAssertEqual(plan.flopsPerStep, plan.flopsPerToken * Double(12 * 64 * 3))
        XCTAssertEqual(plan.memory.parameters, 4 * n)
        XCTAssertEqual(plan.memory.gradients, 4 * n)
        XCTAssertEqual(plan.memory.adamMoments, 8 * n)
        XCTAssertEqual(plan.memory.activations, GPT.savedActivations(plan.model, batch: 12, time: 64).bytes)
        XCTAssertEqual(plan.memory.logitsGradient, 4 * 12 * 64 * 65)
        XCTAssertEqual(plan.memory.total, 16 * n + plan.memory.activations + plan.memory.logitsGradient)
        // The forward products: every linear weight and the tied head, once per token, 2 FLOPs each.
        let C = 128, weights = 4 * 12 * C * C + 65 * C
        XCTAssertEqual(plan.gemmShapes.reduce(0) { $0 + $1.flops }, 2 * Double(12 * 64 * weights))
    }

    func testEvaluationCountMatchesThePretrainerLoop() {
        XCTAssertEqual(StepTimeEstimate.evaluationCount(maxIters: 2000, evalInterval: 250), 9)
        XCTAssertEqual(StepTimeEstimate.evaluationCount(maxIters: 10, evalInterval: 3), 5)  // 0, 3, 6, 9, 10
        XCTAssertEqual(StepTimeEstimate.evaluationCount(maxIters: 6, evalInterval: 3), 3)   // 0, 3, 6
        XCTAssertEqual(StepTimeEstimate.evaluationCount(maxIters: 0, evalInterval: 3), 0)
    }

    /// The estimate's arithmetic on a made-up measurement (nothing is timed here).
    func testEstimateCombinesItsParts() throws {
        var c = cpuRecipe(dataset: "/nonexistent/data")
        c.vocabSize = 65
        c.gradientAccumulationSteps = 2
        let plan = try TrainingPlan(config: c, source: "cfg.json")
        let timings = plan.gemmShapes.map { GemmTiming(shape: $0, seconds: 0.001, probeM: $0.m, probeN: $0.n) }
        let measured = ThroughputMeasurement(gemm: timings, attentionForwardSeconds: 0.0005,
                                             attentionBackwardSeconds: 0.001, memcpyBytesPerSecond: 1e10, threads: 2)
        let e = StepTimeEstimate(plan, measured)
        XCTAssertEqual(e.gemmMs, 2 * 3 * 5 * 1.0, accuracy: 1e-9)          // micro × (fwd + bwd) × 5 shapes × 1 ms
        XCTAssertEqual(e.attentionMs, 2 * 4 * 1.5, accuracy: 1e-9)          // micro × layers × 1.5 ms
        XCTAssertGreaterThan(e.elementwiseMs, 0)
        XCTAssertEqual(e.stepMs, e.gemmMs + e.attentionMs + e.elementwiseMs, accuracy: 1e-9)
        XCTAssertEqual(e.tokensPerSecond, Double(12 * 64 * 2) / (e.stepMs / 1000), accuracy: 1e-6)
        XCTAssertEqual(e.evaluations, 9)
        XCTAssertEqual(e.trainSeconds, 2000 * e.stepMs / 1000, accuracy: 1e-9)
        XCTAssertEqual(e.evalSeconds, Double(9 * 2 * 20) * e.evalBatchMs / 1000, accuracy: 1e-9)
        XCTAssertLessThan(e.evalBatchMs, e.stepMs / 2)
    }
}
