// OpenBLAS picks its kernels once, when the library loads. Debian's OpenBLAS 0.3.21 does not know
// recent Xeon models (e.g. family 6 model 207) and falls back to its SSE3 "Prescott" kernels, which
// run sgemm several times slower than the AVX-512 ("SkylakeX") or AVX2 ("Haswell") ones on the same
// CPU. Executables call `BLASCore.selectFastKernels()` first thing: when the user has not chosen a core
// (OPENBLAS_CORETYPE unset) and OpenBLAS fell back to Prescott on a CPU with AVX2 or AVX-512, it sets
// OPENBLAS_CORETYPE and re-executes the program, so the library loads with the right kernels.
import COpenBLAS
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum BLASCore {
    /// The kernel family OpenBLAS chose ("SkylakeX", "Haswell", "Prescott", …).
    public static var name: String { String(cString: openblas_get_corename()) }

    /// OpenBLAS's build configuration string (version, threading model).
    public static var configuration: String { String(cString: openblas_get_config()) }

    /// The core type to request for this CPU, from /proc/cpuinfo's flags; nil when nothing better
    /// than OpenBLAS's own choice is known.
    static func preferredCore() -> String? {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        if ["avx512f", "avx512bw", "avx512vl", "avx512dq"].allSatisfy(flags.contains) { return "SkylakeX" }
        if ["avx2", "fma"].allSatisfy(flags.contains) { return "Haswell" }
        return nil
    }

    /// Re-executes the current program with OPENBLAS_CORETYPE set when OpenBLAS fell back to its
    /// generic kernels on a CPU that has faster ones. Returns normally when nothing needs doing.
    public static func selectFastKernels() {
        guard getenv("OPENBLAS_CORETYPE") == nil, name == "Prescott", let core = preferredCore() else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        var args = CommandLine.arguments.map { strdup($0) }
        args.append(nil)
        execv("/proc/self/exe", &args)
        // execv only returns on failure: carry on with the generic kernels.
        unsetenv("OPENBLAS_CORETYPE")
    }
}
