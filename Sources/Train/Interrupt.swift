// Ctrl-C handling: the first SIGINT (or SIGTERM) sets a flag that the training loop checks after
// each step and between evaluation batches (cutting a long evaluation short), so it can write a
// checkpoint and stop cleanly; a second one exits at once.
import Foundation

#if canImport(Glibc)
import Glibc
#endif

nonisolated(unsafe) private var interruptCount: Int32 = 0

public enum Interrupt {
    /// Installs the handlers (idempotent).
    public static func install() {
        let handler: @convention(c) (Int32) -> Void = { sig in
            interruptCount += 1
            if interruptCount > 1 { _exit(128 + sig) }
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }

    public static var requested: Bool { interruptCount > 0 }

    /// For tests: pretend a Ctrl-C arrived (or clear it).
    public static func simulate(_ on: Bool = true) { interruptCount = on ? 1 : 0 }
}
