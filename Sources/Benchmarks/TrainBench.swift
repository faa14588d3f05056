// Training-step benchmarks: each model trains for a fixed number of steps after warm-up, in its own
// child process (so its peak RSS is its own), and reports the median ms/step, tokens/s, achieved
// GFLOP/s, MFU against an sgemm peak measured at the start of the same run, peak RSS, and a per-op
// forward/backward breakdown from the opt-in profiler (Kernels/Profiler.swift).
// FLOPs per token: nanoGPT's estimate_mfu, 6·N + 12·L·C·T (GPTConfig.flopsPerToken in NN/GPTCost.swift).
// Batches are uniformly random token ids: the time of a step does not depend on the values.
import Foundation
import Autograd
import Kernels
import NN
import Data
import Optim
import Train
#if canImport(Glibc)
import Glibc
#endif

/// Settings shared by the benchmark sections (from the command line).
struct BenchOptions {
    var threads = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// Where `train` writes its results as JSON (for `make bench-compare`).
    var jsonPath: String?
    /// sgemm peak passed from the parent to the child processes.
    var peakGFLOPS: Double?
    /// Multiplies every case's timed step count (0.5 for a quicker run).
    var stepScale = 1.0
    /// Overrides of a case's warm-up, timed and profiled step counts (for instruction counting under
    /// callgrind: `--warmup 2 --steps 3 --profile-steps 0`).
    var warmup: Int?
    var steps: Int?
    var profileSteps: Int?
    /// Let OpenBLAS thread each product instead of sgemm's own split (for comparing the two).
    var blasThreads = false
}

/// One model to time.
struct TrainCase {
    let key: String
    let title: String
    let configPath: String
    let vocabSize: Int
    var batchSize: Int?
    var blockSize: Int?
    let warmup: Int
    let steps: Int
    let profiledSteps: Int

    static let all: [TrainCase] = [
        TrainCase(key: "cpu", title: "CPU recipe", configPath: "configs/shakespeare-char-cpu.json", vocabSize: 65,
                  warmup: 10, steps: 60, profiledSteps: 20),
        TrainCase(key: "baby", title: "baby GPT", configPath: "configs/shakespeare-char.json", vocabSize: 65,
                  warmup: 1, steps: 3, profiledSteps: 1),
        TrainCase(key: "gpt2", title: "GPT-2 124M, batch 4×64", configPath: "configs/gpt2-124m.json", vocabSize: 50257,
                  batchSize: 4, blockSize: 64, warmup: 2, steps: 5, profiledSteps: 2),
    ]
}

/// What one case measured (also written as JSON for the comparison script).
struct TrainResult: Codable {
    var key: String
    var title: String
    var threads: Int
    var params: Int
    var tokensPerStep: Int
    var flopsPerToken: Double
    var msPerStep: Double
    var minMsPerStep: Double
    var cpuMsPerStep: Double
    var tokensPerSecond: Double
    var gflops: Double
    var peakGFLOPS: Double
    var mfu: Double
    var peakRSSMiB: Double
    var blasShare: Double
}

/// Peak resident set size of this process so far, in MiB (Linux reports ru_maxrss in KiB).
func peakRSSMiB() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_maxrss) / 1024
}

/// User + system CPU seconds of this process (all threads).
func cpuSeconds() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6
        + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
}

/// sgemm GFLOP/s on a large square product at the current thread count: the practical ceiling that
/// MFU is measured against.
func measureSgemmPeak(size n: Int = 1536) -> Double {
    let a = allocateAligned(n * n), b = allocateAligned(n * n), c = allocateAligned(n * n)
    defer { deallocateAligned(a); deallocateAligned(b); deallocateAligned(c) }
    var rng = RandomGenerator(seed: 11)
    rng.fillNormal(a, count: n * n); rng.fillNormal(b, count: n * n)
    let t = medianSeconds(warmup: 2, repeats: 7) {
        sgemm(m: n, n: n, k: n, a: a, lda: n, b: b, ldb: n, c: c, ldc: n)
    }
    return 2 * Double(n * n * n) / t / 1e9
}

/// `train`: the sgemm peak, then every case in a child process, then a summary table.
func trainBenchmark(_ options: BenchOptions) {
    Parallel.setThreadCount(options.threads)
    let peak = measureSgemmPeak()
    print("== training step (\(options.threads) threads; sgemm peak \(fmt(peak)) GFLOP/s on 1536³, measured now) ==")
    var results: [TrainResult] = []
    for c in TrainCase.all {
        let out = FileManager.default.temporaryDirectory
            .appendingPathComponent("tinygpt-bench-\(getpid())-\(c.key).json")
        var args = ["train-case", c.key, "--threads", "\(options.threads)", "--peak", "\(peak)",
                    "--json", out.path]
        if options.stepScale != 1 { args += ["--step-scale", "\(options.stepScale)"] }
        if let n = options.warmup { args += ["--warmup", "\(n)"] }
        if let n = options.steps { args += ["--steps", "\(n)"] }
        if let n = options.profileSteps { args += ["--profile-steps", "\(n)"] }
        if options.blasThreads { args.append("--blas-threads") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        p.arguments = args
        do { try p.run() } catch {
            print("train \(c.key): could not start the child process (\(error))")
            continue
        }
        p.waitUntilExit()
        guard p.terminationStatus == 0, let data = try? Data(contentsOf: out),
              let r = try? JSONDecoder().decode(TrainResult.self, from: data) else {
            print("train \(c.key): the child process failed (status \(p.terminationStatus))")
            continue
        }
        try? FileManager.default.removeItem(at: out)
        results.append(r)
    }
    print("summary (\(options.threads) threads):")
    print(pad("model", 26) + lpad("ms/step", 10) + lpad("tokens/s", 10) + lpad("GFLOP/s", 9) + lpad("MFU", 6)
          + lpad("RSS MiB", 9) + lpad("BLAS", 6))
    for r in results {
        print(pad(r.title, 26) + lpad(fmt(r.msPerStep), 10) + lpad(fmt(r.tokensPerSecond, 0), 10)
              + lpad(fmt(r.gflops), 9) + lpad(fmt(100 * r.mfu, 0) + "%", 6) + lpad(fmt(r.peakRSSMiB, 0), 9)
              + lpad(fmt(100 * r.blasShare, 0) + "%", 6))
    }
    if let path = options.jsonPath {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        do { try enc.encode(results).write(to: URL(fileURLWithPath: path)) } catch {
            print("could not write \(path): \(error)")
        }
    }
}

/// The model and optimiser settings of a case, from its config file (overridden by the case).
func loadCase(_ c: TrainCase) throws -> (GPTConfig, TrainConfig) {
    var t = try TrainConfig.load(path: c.configPath)
    if let b = c.batchSize { t.batchSize = b }
    if let b = c.blockSize { t.blockSize = b }
    let g = t.modelConfig(vocabSize: t.vocabSize ?? c.vocabSize)
    try g.validate()
    return (g, t)
}

/// `train-case KEY` (child process): times one case and writes its TrainResult to options.jsonPath.
func trainCaseBenchmark(_ key: String, _ options: BenchOptions) throws {
    guard let c = TrainCase.all.first(where: { $0.key == key }) else {
        throw BenchError("unknown training case \"\(key)\" (expected: " +
                "\(TrainCase.all.map(\.key).joined(separator: ", ")))")
    }
    Parallel.setThreadCount(options.threads)
    Parallel.setGemmUsesBLASThreads(options.blasThreads)
    let (g, t) = try loadCase(c)
    let B = t.batchSize, T = g.blockSize
    let model = GPT(config: g, seed: UInt64(t.seed))
    var batchRNG = RandomGenerator(seed: 5)
    let batches: [TokenBatch] = (0..<4).map { _ in
        TokenBatch(batchSize: B, blockSize: T,
                   inputs: (0..<(B * T)).map { _ in Int32(batchRNG.nextInt(below: g.vocabSize)) },
                   targets: (0..<(B * T)).map { _ in Int32(batchRNG.nextInt(below: g.vocabSize)) })
    }
    // The training loop's own step (TrainingStep) on pretraining's objective, over fixed batches.
    let trainingStep = TrainingStep(objective: FixedBatchObjective(model: model, batches: batches),
                                    optimization: t.optimization)
    var streams = TrainingStreams(seed: 5)
    var stepIndex = 0
    // Never inlined, so callgrind can count its instructions alone
    // (--toggle-collect='*trainCaseBenchmark*step*').
    @inline(never) func step() {
        _ = trainingStep.run(step: stepIndex, streams: &streams)
        stepIndex += 1
    }

    let steps = options.steps ?? max(1, Int((Double(c.steps) * options.stepScale).rounded()))
    let profiled = options.profileSteps ?? max(1, Int((Double(c.profiledSteps) * options.stepScale).rounded()))
    let warmup = options.warmup ?? c.warmup
    for _ in 0..<warmup { step() }
    var times: [Double] = []
    let cpu0 = cpuSeconds()
    for _ in 0..<steps { times.append(seconds(step)) }
    let cpuPerStep = (cpuSeconds() - cpu0) / Double(steps)
    let rss = peakRSSMiB()
    Profiler.reset()
    Profiler.isEnabled = true
    let profiledTime = seconds { for _ in 0..<profiled { step() } }
    Profiler.isEnabled = false
    let totals = Profiler.totals()

    times.sort()
    let median = times[times.count / 2]
    let tokens = B * T
    let fpt = g.flopsPerToken
    let gflops = fpt * Double(tokens) / median / 1e9
    let peak = options.peakGFLOPS ?? measureSgemmPeak()
    let perStep = { (ns: UInt64) in Double(ns) / 1e6 / Double(max(profiled, 1)) }
    let stepMs = profiledTime * 1000 / Double(max(profiled, 1))
    let blasMs = totals.filter { $0.op == .sgemm }.reduce(0.0) { $0 + perStep($1.nanoseconds) }

    let params = model.parameterCount
    print("-- \(c.title): \(g.nLayer)L/\(g.nHead)H/\(g.nEmbd), block \(T), batch \(B), vocab \(g.vocabSize), " +
            "dropout \(g.dropout); "
          + "\(fmt(Double(params) / 1e6, 2))M params; \(c.configPath) --")
    print("ms/step: median \(fmt(median * 1000)), min \(fmt(times[0] * 1000)) over \(steps) steps after \(warmup) " +
            "warm-up; "
          + "CPU \(fmt(cpuPerStep * 1000)) ms/step (user+sys, all threads)")
    print("tokens/s \(fmt(Double(tokens) / median, 0)) | \(fmt(gflops)) GFLOP/s at \(fmt(fpt / 1e6, 2)) MFLOP/token "
          + "(6N + 12·L·C·T) | MFU \(fmt(100 * gflops / peak, 1))% of \(fmt(peak)) GFLOP/s | peak RSS " +
                  "\(fmt(rss, 1)) MiB")
    if profiled > 0 { printProfile(totals, profiled: profiled, stepMs: stepMs) }

    let r = TrainResult(key: c.key, title: c.title, threads: options.threads, params: params, tokensPerStep: tokens,
                        flopsPerToken: fpt, msPerStep: median * 1000, minMsPerStep: times[0] * 1000,
                        cpuMsPerStep: cpuPerStep * 1000, tokensPerSecond: Double(tokens) / median,
                        gflops: gflops, peakGFLOPS: peak, mfu: gflops / peak, peakRSSMiB: rss,
                        blasShare: profiled > 0 ? blasMs / stepMs : 0)
    if let path = options.jsonPath {
        try JSONEncoder().encode(r).write(to: URL(fileURLWithPath: path))
    }
}

/// The per-op table: forward and backward wall time per step, the optimiser's phases, and the BLAS share.
func printProfile(_ totals: [ProfileTotal], profiled: Int, stepMs: Double) {
    let perStep = { (ns: UInt64) in Double(ns) / 1e6 / Double(profiled) }
    let blasMs = totals.filter { $0.op == .sgemm }.reduce(0.0) { $0 + perStep($1.nanoseconds) }
    print("per-op wall time (ms/step over \(profiled) profiled steps of \(fmt(stepMs)) ms; profiling on):")
    print(pad("  op", 20) + lpad("forward", 9) + lpad("backward", 10) + lpad("total", 9) + lpad("share", 8)
          + "   (optimiser phases: forward column)")
    var accounted = 0.0
    var rows: [(String, Double, Double)] = []
    for op in ProfiledOp.allCases where op != .sgemm {
        let f = totals.first { $0.op == op && !$0.backward }.map { perStep($0.nanoseconds) } ?? 0
        let b = totals.first { $0.op == op && $0.backward }.map { perStep($0.nanoseconds) } ?? 0
        if f + b > 0 { rows.append((op.name, f, b)); accounted += f + b }
    }
    rows.sort { $0.1 + $0.2 > $1.1 + $1.2 }
    for (name, f, b) in rows {
        print(pad("  " + name, 20) + lpad(fmt(f, 2), 9) + lpad(fmt(b, 2), 10) + lpad(fmt(f + b, 2), 9)
              + lpad(fmt(100 * (f + b) / stepMs, 1) + "%", 8))
    }
    let rest = stepMs - accounted
    print(pad("  (rest: tape, etc.)", 20) + lpad("", 9) + lpad("", 10) + lpad(fmt(rest, 2), 9)
          + lpad(fmt(100 * rest / stepMs, 1) + "%", 8))
    print("  BLAS share: sgemm from linear/matmul \(fmt(blasMs, 2)) ms/step = \(fmt(100 * blasMs / stepMs, 1))% "
          + "(attention's per-head products count as attention)")
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Causal-LM training on a fixed cycle of batches: the benchmark's objective (the time of a step does
/// not depend on which tokens it reads).
final class FixedBatchObjective: TrainingObjective {
    let model: GPT
    let batches: [TokenBatch]
    var next = 0

    init(model: GPT, batches: [TokenBatch]) { self.model = model; self.batches = batches }

    var trainable: [NamedParameter] { model.parameters }
    var gradientBuffers: [UnsafeMutableBufferPointer<Float>] { model.gradientBuffers }
    func zeroGrad() { model.zeroGrad() }

    func nextBatch(rng: inout RandomGenerator) -> TokenBatch {
        defer { next += 1 }
        return batches[next % batches.count]
    }

    func loss(_ batch: TokenBatch, training: Bool, rng: inout RandomGenerator) -> StepLoss {
        let (_, loss) = model.loss(batch.inputs, targets: batch.targets, batch: batch.batchSize,
                                   time: batch.blockSize, training: training, rng: &rng)
        return StepLoss(loss: loss, tokens: batch.batchSize * batch.blockSize)
    }
}
