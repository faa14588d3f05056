// Terminal output: one-line errors on stderr, and a progress line that redraws in place on a TTY
// (plain lines when output is a file or pipe).
import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

enum Terminal {
    static let isTTY = isatty(STDOUT_FILENO) != 0

    static func error(_ message: String) {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    }

    static func warning(_ message: String) {
        FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
    }

    /// Prints a line, first clearing any live progress line.
    static func line(_ text: String) {
        if isTTY && liveLineShown { fputs("\r\u{1B}[2K", stdout) ; liveLineShown = false }
        fputs(text + "\n", stdout)
        fflush(stdout)
    }

    /// Redraws the live line on a TTY; otherwise prints it as a plain line.
    static func live(_ text: String) {
        if isTTY {
            fputs("\r\u{1B}[2K" + text, stdout)
            liveLineShown = true
            fflush(stdout)
        } else {
            line(text)
        }
    }

    static func raw(_ text: String) {
        fputs(text, stdout)
        fflush(stdout)
    }

    nonisolated(unsafe) private static var liveLineShown = false

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
        if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return "\(s)s"
    }
}

/// Runs `body`, turning a thrown error into one line on stderr and exit status 1.
func runReportingErrors(_ body: () throws -> Void) throws {
    do { try body() } catch let e as ExitCode {
        throw e
    } catch {
        Terminal.error(String(describing: error).split(separator: "\n").joined(separator: " "))
        throw ExitCode.failure
    }
}
