// Fetching one catalog entry into a folder: each file downloaded unless already there and verified,
// the licence sent once before the first download, then the conversion, whose outputs are written to
// a temporary file, checked against their pinned SHA-256 and renamed into place. Running it again
// is cheap: files already present are checked and kept.
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum Fetcher {
    /// Fetches `entry` into `folder` and returns the paths of the files the commands read.
    @discardableResult
    public static func fetch(_ entry: CatalogEntry, into folder: URL, timeout: TimeInterval = 60,
                             events: (FetchEvent) -> Void) throws -> [URL] {
        var licenceShown = false
        var downloaded = false
        for file in entry.files {
            let destination = folder.appendingPathComponent(file.path)
            if Download.isPresent(file, at: destination) {
                events(.present(path: destination.path))
                continue
            }
            if !licenceShown {
                events(.licence(name: entry.name, text: entry.licence))
                licenceShown = true
            }
            try Download.fetch(file, to: destination, timeout: timeout, events: events)
            downloaded = true
        }
        var outputs: [URL] = []
        for step in entry.conversion.plan {
            let destination = folder.appendingPathComponent(step.output)
            outputs.append(destination)
            let pinned = entry.converted[step.output]
            // Kept: a pinned output that matches, or an unpinned one converted from the same sources.
            if FileManager.default.fileExists(atPath: destination.path),
               pinned.map({ (try? Download.sha256(of: destination)) == $0 }) ?? !downloaded {
                events(.present(path: destination.path))
                continue
            }
            let bytes = try entry.conversion.convert(folder.appendingPathComponent(step.inputs[0]),
                                                     output: step.output)
            if let pinned {
                let got = Download.hexString(SHA256.hash(data: bytes))
                if got != pinned {
                    try? FileManager.default.removeItem(at: destination)
                    throw FetchError.conversion(path: destination.path, expected: pinned, got: got)
                }
            }
            try writeAtomically(bytes, to: destination)
            events(.converted(path: destination.path))
        }
        if entry.conversion == .none { outputs = entry.files.map { folder.appendingPathComponent($0.path) } }
        return outputs
    }

    static func writeAtomically(_ bytes: [UInt8], to destination: URL) throws {
        let temporary = destination.deletingLastPathComponent()
            .appendingPathComponent("." + destination.lastPathComponent + ".partial")
        do {
            try Foundation.Data(bytes).write(to: temporary)
        } catch {
            throw FetchError.io(path: temporary.path, problem: "cannot write")
        }
        if rename(temporary.path, destination.path) != 0 {
            throw FetchError.io(path: destination.path, problem: "cannot move into place: "
                                + String(cString: strerror(errno)))
        }
    }
}
