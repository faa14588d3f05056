// `make bench`: kernel and training benchmarks, each reported beside a baseline measured in the
// same run (raw sgemm, memcpy, the sgemm peak), so the ratios hold whatever the machine is doing.
// Usage: Benchmarks [--threads N] [--json FILE] [--step-scale X] [--warmup N] [--steps N] [--profile-steps N]
//                   [--blas-threads] [section ...]
//   sections: matmul, elementwise, gemm-threads, train, sample, bpe (default: all, in that order)
import Foundation
import Kernels

BLASCore.selectFastKernels()

func usageError(_ message: String) -> Never {
    FileHandle.standardError.write(Data("Benchmarks: \(message)\n".utf8))
    exit(2)
}

var options = BenchOptions()
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
    default: sections.append(arg)
    }
}
let known = ["matmul", "elementwise", "gemm-threads", "train", "sample", "bpe"]
if sections.isEmpty { sections = known }
let isChild = sections.contains { $0.hasPrefix("train-case:") }
if !isChild { print("OpenBLAS core: \(BLASCore.name); \(BLASCore.configuration)") }
for section in sections {
    switch section {
    case "matmul": Parallel.setThreadCount(options.threads); matmulBenchmark()
    case "elementwise": Parallel.setThreadCount(options.threads); elementwiseBenchmark()
    case "gemm-threads": gemmThreadsBenchmark(options)
    case "train": trainBenchmark(options)
    case "sample": samplingBenchmark(options)
    case "bpe": bpeBenchmark(options)
    case let s where s.hasPrefix("train-case:"):
        do { try trainCaseBenchmark(String(s.dropFirst("train-case:".count)), options) } catch {
            usageError("\(error)")
        }
        continue
    default:
        usageError("unknown benchmark section \"\(section)\" (expected: \(known.joined(separator: ", ")))")
    }
    print("")
}
