import XCTest
import Foundation
import Checkpoint
import Data
import Train

/// Data-parallel runs under mpirun, driving the built `tinygpt` binary: 2 ranks against 1 process with
/// the same accumulation, bitwise resume at 2 ranks, a fine-tune on 2 ranks, and a rank that dies.
/// Skipped, with a message, where `mpirun` is missing (`make deps` installs it).
final class DataParallelTests: XCTestCase {
    static let root = repositoryRoot
    static let binary = tinygptBinary

    override func setUpWithError() throws {
        guard let mpirun = Self.mpirun else { throw XCTSkip("mpirun is not installed (make deps installs Open MPI)") }
        _ = mpirun
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else {
            throw XCTSkip("\(Self.binary.path) is not built (swift build -c release)")
        }
    }

    static let mpirun = mpirunPath

    /// A tiny character-level pretraining on `data`: 2 layers, 32 wide, context 32, dropout 0.
    func pretrainArguments(data: String, out: URL, steps: Int, accumulation: Int = 2) -> [String] {
        let config = Self.root.appendingPathComponent("configs/shakespeare-char-cpu.json").path
        return ["pretrain", "--config", config, "--dataset", data, "--out", out.path, "--max-iters", "\(steps)",
                "--eval-interval", "5", "--batch-size", "4",
                "--set", "eval_iters=4", "--set", "gradient_accumulation_steps=\(accumulation)",
                "--set", "n_layer=2", "--set", "n_embd=32", "--set", "n_head=2", "--set", "block_size=32",
                "--set", "log_interval=1", "--set", "always_save_checkpoint=true", "--set", "warmup_iters=2"]
    }

    @discardableResult
    func run(_ arguments: [String], ranks: Int = 0, threads: Int = 1, timeout: TimeInterval = 120,
             whileRunning: ((Process) -> Void)? = nil) throws -> (status: Int32, output: String) {
        try runTinyGPT(arguments, ranks: ranks, threads: threads, timeout: timeout, whileRunning: whileRunning)
    }

    func metrics(_ run: URL) throws -> [[String: Any]] {
        let text = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    func weights(_ checkpoint: URL) throws -> [Float] { try checkpointWeights(checkpoint) }

    func testTwoRanksMatchOneProcessWithTheSameAccumulation() throws {
        let dir = ScratchDirectory()
        let data = try prepareCharDataset(in: dir.url)
        let one = dir.url.appendingPathComponent("one"), two = dir.url.appendingPathComponent("two")
        let a = try run(pretrainArguments(data: data, out: one, steps: 10))
        XCTAssertEqual(a.status, 0, a.output)
        let b = try run(pretrainArguments(data: data, out: two, steps: 10), ranks: 2)
        XCTAssertEqual(b.status, 0, b.output)
        let ma = try metrics(one), mb = try metrics(two)
        XCTAssertEqual(ma.count, mb.count, "rank 0 alone writes metrics.jsonl: one line per step and evaluation")
        for (x, y) in zip(ma, mb) {
            XCTAssertEqual(x["step"] as? Int, y["step"] as? Int)
            for key in ["loss", "grad_norm", "train_loss", "val_loss"] {
                guard let u = x[key] as? Double else { continue }
                let v = try XCTUnwrap(y[key] as? Double)
                XCTAssertEqual(u, v, accuracy: 1e-6 * abs(u), "\(key) at step \(x["step"]!)")
            }
        }
        let wa = try weights(one.appendingPathComponent("step-000010"))
        let wb = try weights(two.appendingPathComponent("step-000010"))
        XCTAssertEqual(wa.count, wb.count)
        // Relative to the largest weight: AdamW divides by √v, so a last-bit difference in a small
        // gradient (summed in another order) becomes a small absolute difference in any weight.
        let scale = wa.map(abs).max()!, worst = zip(wa, wb).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(worst, 1e-6 * scale, "weights differ by \(worst) (largest weight \(scale))")
        let state = try RunState.decode(try CheckpointStore.readState(from: two.appendingPathComponent("step-000010")),
                                        source: "state.json")
        XCTAssertEqual(state.extra["world_size"] as? Int, 2)
    }

    func testResumeAtTwoRanksIsBitwise() throws {
        let dir = ScratchDirectory()
        let data = try prepareCharDataset(in: dir.url)
        let straight = dir.url.appendingPathComponent("straight"), resumed = dir.url.appendingPathComponent("resumed")
        XCTAssertEqual(try run(pretrainArguments(data: data, out: straight, steps: 10), ranks: 2).status, 0)
        XCTAssertEqual(try run(pretrainArguments(data: data, out: resumed, steps: 5), ranks: 2).status, 0)
        let second = try run(pretrainArguments(data: data, out: resumed, steps: 10) + ["--resume", "auto"], ranks: 2)
        XCTAssertEqual(second.status, 0, second.output)
        XCTAssertEqual(try weights(straight.appendingPathComponent("step-000010")),
                       try weights(resumed.appendingPathComponent("step-000010")))
    }

    func testAccumulationNotDivisibleByRanksIsRefused() throws {
        let dir = ScratchDirectory()
        let data = try prepareCharDataset(in: dir.url)
        let r = try run(pretrainArguments(data: data, out: dir.url.appendingPathComponent("r"), steps: 2,
                                          accumulation: 3), ranks: 2)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.output.contains("gradient_accumulation_steps: 3 is not divisible by the 2 ranks"), r.output)
    }

    func testClassifierFineTunesOnTwoRanks() throws {
        let dir = ScratchDirectory()
        let data = try prepareCharDataset(in: dir.url)
        let base = dir.url.appendingPathComponent("base")
        XCTAssertEqual(try run(pretrainArguments(data: data, out: base, steps: 2)).status, 0)
        let rows = (0..<16).map { i in "{\"text\": \"the king \(i % 2 == 0 ? "laughs" : "speaks")\", \"label\": " +
                "\(i % 2)}" }
        let train = dir.url.appendingPathComponent("train.jsonl")
        try (rows.joined(separator: "\n") + "\n").write(to: train, atomically: true, encoding: .utf8)
        let out = dir.url.appendingPathComponent("classify")
        let r = try run(["finetune", "--init", base.path, "--task", "classify", "--train", train.path,
                         "--dev", train.path, "--out", out.path, "--max-iters", "4", "--eval-interval", "2",
                         "--batch-size", "4", "--set", "gradient_accumulation_steps=2", "--set", "log_interval=1"],
                        ranks: 2)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertEqual(try metrics(out).filter { $0["type"] as? String == "step" }.count, 4, r.output)
    }

    func testAKilledRankEndsTheJobAndTheRunResumes() throws {
        let dir = ScratchDirectory()
        let data = try prepareCharDataset(in: dir.url)
        let out = dir.url.appendingPathComponent("run")
        var args = pretrainArguments(data: data, out: out, steps: 400)
        args += ["--set", "eval_interval=20"]
        let t0 = Date()
        let killed = try run(args, ranks: 2, timeout: 90) { mpirun in
            // Wait for the first checkpoint, then kill rank 1.
            let latest = out.appendingPathComponent("latest").path
            while mpirun.isRunning && !FileManager.default.fileExists(atPath: latest) {
                usleep(20_000)
            }
            if let pid = Self.rankProcess(1, parent: mpirun.processIdentifier) { kill(pid, SIGKILL) }
        }
        XCTAssertNotEqual(killed.status, 0, "the job must fail when a rank dies")
        XCTAssertLessThan(Date().timeIntervalSince(t0), 60, "the other rank must not hang")
        let resumed = try run(pretrainArguments(data: data, out: out, steps: 40) + ["--resume", "auto"], ranks: 2)
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("step-000040").path))
    }

    /// The pid of a child of `parent` whose environment says it is MPI rank `rank`.
    static func rankProcess(_ rank: Int, parent: Int32) -> Int32? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        for e in entries {
            guard let pid = Int32(e),
                  let stat = try? String(contentsOfFile: "/proc/\(e)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, Int32(fields[1]) == parent,
                  let env = FileManager.default.contents(atPath: "/proc/\(e)/environ") else { continue }
            let vars = env.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if vars.contains("OMPI_COMM_WORLD_RANK=\(rank)") { return pid }
        }
        return nil
    }
}
