// `make bench`: kernel and training benchmarks, each reported beside a baseline measured in the
// same run (raw sgemm, memcpy), so the ratios hold whatever the machine is doing.
import Foundation
import Kernels

BLASCore.selectFastKernels()
print("OpenBLAS core: \(BLASCore.name); \(BLASCore.configuration)")
let args = Array(CommandLine.arguments.dropFirst())
let sections = args.isEmpty ? ["matmul", "elementwise"] : args
for section in sections {
    switch section {
    case "matmul": matmulBenchmark()
    case "elementwise": elementwiseBenchmark()
    default:
        FileHandle.standardError.write(Data("unknown benchmark section \"\(section)\" (expected: matmul, elementwise)\n".utf8))
        exit(2)
    }
    print("")
}
