// How many threads a training process gives its kernels: `threads` from the config when set, else all
// cores — shared equally by the ranks on this host in a data-parallel run (2 ranks on 2 cores: one
// thread each).
import Foundation
import Collective
import Kernels

enum TrainingThreads {
    static func apply(configured: Int, group: ProcessGroup = .world) {
        if configured > 0 {
            Parallel.setThreadCount(configured)
        } else if group.isDistributed {
            let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
            Parallel.setThreadCount(max(1, cores / group.localSize))
        }
    }
}
