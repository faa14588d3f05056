// Long-context benchmark: the CPU recipe's model shape (4 layers, 4 heads, n_embd 128, vocab 65) at
// T = 64 … 8192 with the batch scaled to keep the tokens per step equal, materialized attention
// against tiled (Kernels/AttentionMethod.swift). Each (T, method) case runs in its own child process,
// so its peak RSS (VmHWM in /proc/self/status) is its own. A case times whole training steps
// (forward, backward, clipping, AdamW) and, separately, one layer's attention forward + backward
// at the same shape — the figure to compare with scripts/bench_sdpa.py (PyTorch's SDPA).
// Usage: Benchmarks [--threads N] long-context [--tokens N] [--lengths 64,256,…] [--methods materialized,tiled]
//        Benchmarks long-case T:METHOD [--tokens N]   (one case, in this process)
import Foundation
import Autograd
import Kernels
import NN
import Data
import Train

/// What one (T, method) case measured.
struct LongContextResult: Codable {
    var T: Int
    var batch: Int
    var method: String
    var msPerStep: Double
    var tokensPerSecond: Double
    var attentionMs: Double
    var attentionTokensPerSecond: Double
    var peakRSSMiB: Double
}

struct LongContextOptions {
    var tokens = 8192
    var lengths = [64, 256, 1024, 4096, 8192]
    var methods: [AttentionMethod] = [.materialized, .tiled]
}

/// Peak resident set size (VmHWM) of this process in MiB, from /proc/self/status.
func vmHWMMiB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return peakRSSMiB() }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kib = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
        return kib / 1024
    }
    return peakRSSMiB()
}

/// `long-context`: every case in a child process, then the table.
func longContextBenchmark(_ lc: LongContextOptions, _ options: BenchOptions) {
    print("== long contexts: 4L/4H/128 (vocab 65), \(lc.tokens) tokens per step, \(options.threads) threads ==")
    print(pad("T", 6) + lpad("batch", 6) + pad("  method", 15) + lpad("ms/step", 10) + lpad("tokens/s", 10)
          + lpad("attn ms", 10) + lpad("attn tok/s", 12) + lpad("peak RSS MiB", 14))
    for T in lc.lengths {
        for method in lc.methods {
            let out = FileManager.default.temporaryDirectory
                .appendingPathComponent("tinygpt-long-\(getpid())-\(T)-\(method.rawValue).json")
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/proc/self/exe")
            p.arguments = ["--threads", "\(options.threads)", "--json", out.path,
                           "long-case", "\(T):\(method.rawValue)",
                           "--tokens", "\(lc.tokens)"]
            do { try p.run() } catch {
                print("T=\(T) \(method.rawValue): could not start the child process (\(error))")
                continue
            }
            p.waitUntilExit()
            guard p.terminationStatus == 0, let data = try? Data(contentsOf: out),
                  let r = try? JSONDecoder().decode(LongContextResult.self, from: data) else {
                print("T=\(T) \(method.rawValue): the child process failed (status \(p.terminationStatus))")
                continue
            }
            try? FileManager.default.removeItem(at: out)
            print(pad("\(r.T)", 6) + lpad("\(r.batch)", 6) + pad("  " + r.method, 15) + lpad(fmt(r.msPerStep), 10)
                  + lpad(fmt(r.tokensPerSecond, 0), 10) + lpad(fmt(r.attentionMs, 2), 10)
                  + lpad(fmt(r.attentionTokensPerSecond, 0), 12) + lpad(fmt(r.peakRSSMiB, 0), 14))
        }
    }
}

/// `long-case T:METHOD` (child process): times one case and writes its result to options.jsonPath.
func longContextCase(_ key: String, tokens: Int, _ options: BenchOptions) throws {
    let parts = key.split(separator: ":")
    guard parts.count == 2, let T = Int(parts[0]), T >= 1, let method = AttentionMethod(rawValue: String(parts[1]))
    else { throw BenchError("long-case expects T:METHOD (METHOD materialized or tiled), got \"\(key)\"") }
    Parallel.setThreadCount(options.threads)
    AttentionMethod.force(method)
    let B = max(1, tokens / T), V = 65
    let g = GPTConfig(vocabSize: V, blockSize: T, nLayer: 4, nHead: 4, nEmbd: 128, dropout: 0, bias: false)
    var t = try TrainConfig.load(path: "configs/shakespeare-char-cpu.json")
    t.batchSize = B
    t.blockSize = T

    // One layer's attention, forward + backward, through the autograd op (the kernels and their buffers).
    var rng = RandomGenerator(seed: 3)
    let qkv = Tensor.normal([B, T, 3 * g.nEmbd], rng: &rng, requiresGrad: true)
    let w = Tensor.normal([B, T, g.nEmbd], rng: &rng)
    let attention = medianSeconds(warmup: 1, repeats: T >= 4096 ? 3 : 7) {
        let y = causalSelfAttention(qkv: qkv, heads: g.nHead)
        sum(y * w).backward()
    }
    qkv.grad = nil

    let model = GPT(config: g, seed: 1337)
    var batchRNG = RandomGenerator(seed: 5)
    let batches: [TokenBatch] = (0..<2).map { _ in
        TokenBatch(batchSize: B, blockSize: T,
                   inputs: (0..<(B * T)).map { _ in Int32(batchRNG.nextInt(below: V)) },
                   targets: (0..<(B * T)).map { _ in Int32(batchRNG.nextInt(below: V)) })
    }
    let step = TrainingStep(objective: FixedBatchObjective(model: model, batches: batches),
                            optimization: t.optimization)
    var streams = TrainingStreams(seed: 5)
    var index = 0
    let stepTime = medianSeconds(warmup: 1, repeats: T >= 4096 ? 3 : 5) {
        _ = step.run(step: index, streams: &streams)
        index += 1
    }
    let r = LongContextResult(T: T, batch: B, method: method.rawValue, msPerStep: stepTime * 1000,
                              tokensPerSecond: Double(B * T) / stepTime, attentionMs: attention * 1000,
                              attentionTokensPerSecond: Double(B * T) / attention, peakRSSMiB: vmHWMMiB())
    if let path = options.jsonPath { try JSONEncoder().encode(r).write(to: URL(fileURLWithPath: path)); return }
    print("T=\(T) batch \(B) \(method.rawValue): \(fmt(r.msPerStep)) ms/step, \(fmt(r.tokensPerSecond, 0)) tokens/s; "
          + "attention fwd+bwd \(fmt(r.attentionMs, 2)) ms; peak RSS \(fmt(r.peakRSSMiB, 0)) MiB")
}
