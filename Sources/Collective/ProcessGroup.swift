// The processes of a data-parallel run, as torch.distributed calls them: a rank and a world size,
// and the collectives training needs (sum over ranks, min/max, barrier). Under `mpirun` it is MPI's
// world communicator; otherwise a group of one whose collectives do nothing, so a plain run never
// touches MPI at all.
import Foundation
import CMPI

public final class ProcessGroup: @unchecked Sendable {
    /// This process's rank, 0..<size.
    public let rank: Int
    public let size: Int
    /// Ranks on this host (threads per rank default to the host's cores divided by them).
    public let localSize: Int
    let usesMPI: Bool

    /// The group this process was launched in: MPI's world under `mpirun`, else a group of one.
    public static let world: ProcessGroup = ProcessGroup.launched()

    public var isRoot: Bool { rank == 0 }
    public var isDistributed: Bool { size > 1 }

    init(rank: Int, size: Int, localSize: Int, usesMPI: Bool) {
        self.rank = rank; self.size = size; self.localSize = localSize; self.usesMPI = usesMPI
    }

    /// Open MPI's launcher sets OMPI_COMM_WORLD_SIZE in every process it starts (PMI_SIZE and PMIX_RANK
    /// are other launchers' equivalents).
    static var launchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil || env["PMI_SIZE"] != nil
    }

    static func launched() -> ProcessGroup {
        guard launchedByMPI else { return ProcessGroup(rank: 0, size: 1, localSize: 1, usesMPI: false) }
        var provided: Int32 = 0
        // Only the main thread calls MPI (the kernels' worker threads never do).
        MPI_Init_thread(nil, nil, Int32(MPI_THREAD_FUNNELED), &provided)
        var rank: Int32 = 0, size: Int32 = 1
        MPI_Comm_rank(tinygpt_mpi_comm_world(), &rank)
        MPI_Comm_size(tinygpt_mpi_comm_world(), &size)
        let local = Int(ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? "") ?? Int(size)
        atexit { ProcessGroup.finalize() }
        return ProcessGroup(rank: Int(rank), size: Int(size), localSize: max(1, local), usesMPI: true)
    }

    static func finalize() {
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        if finalized == 0 { MPI_Finalize() }
    }

    /// Sums `count` floats over every rank, in place (every rank gets the sum).
    public func allReduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        guard usesMPI && size > 1 else { return }
        var offset = 0
        while offset < count {
            let n = min(count - offset, Int(Int32.max))
            MPI_Allreduce(tinygpt_mpi_in_place(), buffer + offset, Int32(n), tinygpt_mpi_float(), tinygpt_mpi_sum(),
                          tinygpt_mpi_comm_world())
            offset += n
        }
    }

    /// Sums each value over every rank.
    public func allReduceSum(_ values: inout [Double]) { reduce(&values, tinygpt_mpi_sum()) }

    /// The largest and the smallest of a value over every rank.
    public func allReduceMax(_ value: Double) -> Double {
        var v = [value]
        reduce(&v, tinygpt_mpi_max())
        return v[0]
    }

    public func allReduceMin(_ value: Double) -> Double {
        var v = [value]
        reduce(&v, tinygpt_mpi_min())
        return v[0]
    }

    func reduce(_ values: inout [Double], _ op: MPI_Op) {
        guard usesMPI && size > 1 && !values.isEmpty else { return }
        let n = Int32(values.count)
        values.withUnsafeMutableBufferPointer { b in
            _ = MPI_Allreduce(tinygpt_mpi_in_place(), b.baseAddress, n, tinygpt_mpi_double(), op,
                              tinygpt_mpi_comm_world())
        }
    }

    /// Waits for every rank.
    public func barrier() {
        guard usesMPI && size > 1 else { return }
        MPI_Barrier(tinygpt_mpi_comm_world())
    }
}
