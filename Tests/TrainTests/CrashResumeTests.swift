import XCTest
import Foundation

/// A run killed with SIGKILL at random moments — in a step, an evaluation or any part of a checkpoint
/// write — resumes with `--resume auto` and ends bit for bit where an unbroken run ends.
final class CrashResumeTests: XCTestCase {
    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: tinygptBinary.path) else {
            throw XCTSkip("\(tinygptBinary.path) is not built (swift build -c release)")
        }
    }

    func arguments(data: String, out: URL) -> [String] {
        let config = repositoryRoot.appendingPathComponent("configs/shakespeare-char-cpu.json").path
        return ["pretrain", "--config", config, "--dataset", data, "--out", out.path, "--max-iters", "120",
                "--eval-interval", "4", "--batch-size", "8", "--resume", "auto",
                "--set", "eval_iters=2", "--set", "n_layer=2", "--set", "n_embd=48", "--set", "n_head=2",
                "--set", "block_size=32", "--set", "always_save_checkpoint=true", "--set", "keep_last=2",
                "--set", "dropout=0.1", "--set", "log_interval=1"]
    }

    func testKilledAtRandomMomentsResumesBitwise() throws {
        let dir = ScratchDirectory()
        let data = try prepareCharDataset(in: dir.url)
        let unbroken = dir.url.appendingPathComponent("unbroken")
        let t0 = Date()
        let straight = try runTinyGPT(arguments(data: data, out: unbroken))
        XCTAssertEqual(straight.status, 0, straight.output)
        let runTime = Date().timeIntervalSince(t0)
        let reference = try checkpointWeights(unbroken.appendingPathComponent("step-000120"))

        var seed: UInt64 = 0x5EED
        func nextFraction() -> Double {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Double(seed >> 11) / Double(1 << 53)
        }
        var totalKills = 0
        for trial in 0..<3 {
            let run = dir.url.appendingPathComponent("trial-\(trial)")
            var kills = 0
            for _ in 0..<3 {
                // A kill somewhere in the first 90% of a run's length (process start-up included).
                let delay = 0.9 * runTime * nextFraction()
                let attempt = try runTinyGPT(arguments(data: data, out: run)) { p in
                    usleep(useconds_t(delay * 1e6))
                    if p.isRunning { kill(p.processIdentifier, SIGKILL); kills += 1 }
                }
                if attempt.status == 0 { break }
            }
            totalKills += kills
            let finish = try runTinyGPT(arguments(data: data, out: run))
            XCTAssertEqual(finish.status, 0, "trial \(trial) after \(kills) kills: \(finish.output)")
            XCTAssertEqual(try checkpointWeights(run.appendingPathComponent("step-000120")), reference,
                           "trial \(trial): weights after \(kills) kills differ from the unbroken run")
        }
        XCTAssertGreaterThanOrEqual(totalKills, 2, "the trials must actually kill runs")
    }
}
