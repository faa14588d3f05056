// `make bench`: kernel and training benchmarks, each reported beside a baseline measured in the
// same run (raw sgemm, memcpy, the sgemm peak), so the ratios hold whatever the machine is doing.
// Usage: Benchmarks [--threads N] [--json FILE] [--step-scale X] [--warmup N] [--steps N] [--profile-steps N]
//                   [--blas-threads] [section ...]
//   sections: matmul, elementwise, gemm-threads, train, sample, bpe (default: all, in that order), and
//   long-context [--tokens N] [--lengths 64,256,…] [--methods materialized,tiled] (only when named)
import Foundation
import Kernels

BLASCore.selectFastKernels()

func usageError(_ message: String) -> Never {
    FileHandle.standardError.write(Data("Benchmarks: \(message)\n".utf8))
    exit(2)
}

var options = BenchOptions()
var longOptions = LongContextOptions()
var sections: [String] = []
var argv = Array(CommandLine.arguments.dropFirst())[...]
while let arg = argv.popFirst() {
    func value() -> String {
        guard let v = argv.popFirst() else { usageError("\(arg) needs a value") }
        return v
    }
    switch arg {
    case "--threads":
        let v = value()
        guard let n = Int(v), n >= 1 else { usageError("--threads expects a positive integer, got \"\(v)\"") }
        options.threads = n
    case "--json": options.jsonPath = value()
    case "--peak":
        let v = value()
        guard let p = Double(v), p > 0 else { usageError("--peak expects GFLOP/s, got \"\(v)\"") }
        options.peakGFLOPS = p
    case "--step-scale":
        let v = value()
        guard let s = Double(v), s > 0 else { usageError("--step-scale expects a positive number, got \"\(v)\"") }
        options.stepScale = s
    case "--warmup", "--steps", "--profile-steps":
        let v = value()
        guard let n = Int(v), n >= 0 else { usageError("\(arg) expects a non-negative integer, got \"\(v)\"") }
        if arg == "--warmup" {
            options.warmup = n
        } else if arg == "--steps" {
            options.steps = max(1, n)
        } else {
            options.profileSteps = n
        }
    case "--blas-threads": options.blasThreads = true
    case "train-case": sections.append("train-case:" + value())
    case "long-case": sections.append("long-case:" + value())
    case "--tokens":
        let v = value()
        guard let n = Int(v), n >= 1 else { usageError("--tokens expects a positive integer, got \"\(v)\"") }
        longOptions.tokens = n
    case "--lengths":
        let v = value()
        let lengths = v.split(separator: ",").compactMap { Int($0) }
        guard !lengths.isEmpty, lengths.allSatisfy({ $0 >= 1 }) else {
            usageError("--lengths expects positive integers separated by commas, got \"\(v)\"")
        }
        longOptions.lengths = lengths
    case "--methods":
        let v = value()
        let methods = v.split(separator: ",").compactMap { AttentionMethod(rawValue: String($0)) }
        guard !methods.isEmpty else { usageError("--methods expects materialized and/or tiled, got \"\(v)\"") }
        longOptions.methods = methods
    default: sections.append(arg)
    }
}
let known = ["matmul", "elementwise", "gemm-threads", "train", "sample", "bpe"]
if sections.isEmpty { sections = known }
let isChild = sections.contains { $0.hasPrefix("train-case:") || $0.hasPrefix("long-case:") }
if !isChild { print("OpenBLAS core: \(BLASCore.name); \(BLASCore.configuration)") }
for section in sections {
    switch section {
    case "matmul": Parallel.setThreadCount(options.threads); matmulBenchmark()
    case "elementwise": Parallel.setThreadCount(options.threads); elementwiseBenchmark()
    case "gemm-threads": gemmThreadsBenchmark(options)
    case "train": trainBenchmark(options)
    case "sample": samplingBenchmark(options)
    case "bpe": bpeBenchmark(options)
    case "long-context": Parallel.setThreadCount(options.threads); longContextBenchmark(longOptions, options)
    case let s where s.hasPrefix("long-case:"):
        do { try longContextCase(String(s.dropFirst("long-case:".count)), tokens: longOptions.tokens, options) } catch {
            usageError("\(error)")
        }
        continue
    case let s where s.hasPrefix("train-case:"):
        do { try trainCaseBenchmark(String(s.dropFirst("train-case:".count)), options) } catch {
            usageError("\(error)")
        }
        continue
    default:
        usageError("unknown benchmark section \"\(section)\" (expected: \(known.joined(separator: ", ")), "
                   + "long-context)")
    }
    print("")
}
