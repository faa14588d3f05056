import XCTest
import Foundation
import Checkpoint
import Train

/// Ctrl-C or SIGTERM during an evaluation cuts it short: nothing of it reaches metrics.jsonl or
/// `best`, a checkpoint of the current step is written, the run stops (exit 130), and it resumes.
final class EvaluationInterruptTests: XCTestCase {
    override func tearDown() { Interrupt.simulate(false) }

    /// The metrics.jsonl records of `run`, each line parsed.
    func records(_ run: URL) throws -> [[String: Any]] {
        let text = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], String($0))
        }
    }

    func evalSteps(_ run: URL) throws -> [Int] {
        try records(run).filter { $0["type"] as? String == "eval" }.map { $0["step"] as! Int }
    }

    func testAnInterruptDuringAnEvaluationCutsItShort() throws {
        let dir = ScratchDirectory()
        let data = try prepareCharDataset(in: dir.url)
        var config = tinyConfig(dataset: data, maxIters: 20)
        config.evalInterval = 10
        config.evalIters = 50
        let run = dir.url.appendingPathComponent("run")
        // The step-10 line is emitted just before the step-10 evaluation starts.
        let (_, _, result) = try train(config, run: run) { event in
            if case let .step(m) = event, m.step == 10 { Interrupt.simulate() }
        }
        Interrupt.simulate(false)
        XCTAssertTrue(result.interrupted)
        XCTAssertEqual(result.step, 10)
        XCTAssertEqual(try CheckpointStore(runDirectory: run).checkpoints().map(\.step), [10])
        XCTAssertNil(CheckpointStore(runDirectory: run).best)
        XCTAssertEqual(try evalSteps(run), [0])

        // Resumed, it ends bit for bit where an unbroken run ends.
        let resumed = try train(config, run: run, resume: "auto")
        XCTAssertEqual(resumed.result.step, 20)
        XCTAssertEqual(try evalSteps(run), [0, 20])
        let unbroken = try train(config, run: dir.url.appendingPathComponent("unbroken"))
        XCTAssertEqual(resumed.weights.map(\.bitPattern), unbroken.weights.map(\.bitPattern))
    }

    func testAnInterruptDuringTheLastEvaluationStillWritesACheckpoint() throws {
        let dir = ScratchDirectory()
        let data = try prepareCharDataset(in: dir.url)
        var config = tinyConfig(dataset: data, maxIters: 10)
        config.evalInterval = 10
        let run = dir.url.appendingPathComponent("run")
        let (_, _, result) = try train(config, run: run) { event in
            if case let .step(m) = event, m.step == 10 { Interrupt.simulate() }
        }
        XCTAssertTrue(result.interrupted)
        XCTAssertEqual(try CheckpointStore(runDirectory: run).checkpoints().map(\.step), [10])
    }

    func testAFinetuneEvaluationIsCutShortToo() throws {
        let dir = ScratchDirectory()
        let files = try writeSentimentFiles(in: dir.url)
        let config = finetuneConfig(initFrom: try pretrainTinyModel(in: dir.url), files: files, maxIters: 20)
        let run = dir.url.appendingPathComponent("ft")
        let out = try finetune(config, run: run) { event in
            if case let .step(m) = event, m.step == 10 { Interrupt.simulate() }
        }
        Interrupt.simulate(false)
        XCTAssertTrue(out.result.interrupted)
        XCTAssertEqual(out.evals.map(\.step), [0])
        XCTAssertEqual(try CheckpointStore(runDirectory: run).checkpoints().map(\.step), [10])
        XCTAssertEqual(try evalSteps(run), [0])
    }

    /// The CLI: SIGTERM while a long evaluation runs (eval_iters = 10^6, minutes of work) exits 130
    /// within seconds, with a resumable checkpoint and no partial evaluation in metrics.jsonl.
    func testSIGTERMDuringALongEvaluationExitsQuickly() throws {
        guard FileManager.default.isExecutableFile(atPath: tinygptBinary.path) else {
            throw XCTSkip("\(tinygptBinary.path) is not built (swift build -c release)")
        }
        let dir = ScratchDirectory()
        let data = try prepareCharDataset(in: dir.url)
        let run = dir.url.appendingPathComponent("run")
        let config = repositoryRoot.appendingPathComponent("configs/shakespeare-char-cpu.json").path
        func arguments(maxIters: Int, evalIters: Int) -> [String] {
            ["pretrain", "--config", config, "--dataset", data, "--out", run.path, "--resume", "auto",
             "--max-iters", "\(maxIters)", "--eval-interval", "10", "--batch-size", "4", "--eval-iters", "\(evalIters)",
             "--set", "n_layer=2", "--set", "n_embd=32", "--set", "n_head=2", "--set", "block_size=32",
             "--set", "log_interval=1"]
        }
        XCTAssertEqual(try runTinyGPT(arguments(maxIters: 10, evalIters: 2)).status, 0)

        // Resumed at step 10 with a long evaluation due at step 20.
        var sentAt: Date?
        let metrics = run.appendingPathComponent("metrics.jsonl")
        let cut = try runTinyGPT(arguments(maxIters: 30, evalIters: 1_000_000), timeout: 300) { p in
            let deadline = Date().addingTimeInterval(120)
            while p.isRunning && Date() < deadline {
                let text = (try? String(contentsOf: metrics, encoding: .utf8)) ?? ""
                if text.contains("\"step\":20,") || text.contains("\"step\" : 20,") { break }
                usleep(50_000)
            }
            usleep(1_000_000)  // well inside the evaluation
            sentAt = Date()
            kill(p.processIdentifier, SIGTERM)
        }
        let seconds = Date().timeIntervalSince(try XCTUnwrap(sentAt))
        XCTAssertEqual(cut.status, 130, cut.output)
        XCTAssertLessThan(seconds, 10, "the evaluation was not cut short")
        XCTAssertEqual(try CheckpointStore(runDirectory: run).checkpoints().last?.step, 20)
        XCTAssertEqual(try evalSteps(run), [0, 10])

        let finish = try runTinyGPT(arguments(maxIters: 30, evalIters: 2))
        XCTAssertEqual(finish.status, 0, finish.output)
        XCTAssertEqual(try evalSteps(run), [0, 10, 30])
    }
}
