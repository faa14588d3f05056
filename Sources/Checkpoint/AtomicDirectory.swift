// A directory that appears only complete: imports and exports fill a temporary sibling
// (".NAME.tmp-PID"), fsync it, and rename it onto the destination. A failure removes the temporary,
// so the destination never holds a partial result. The destination may not exist yet or be an empty
// directory (rename(2) replaces an empty directory); anything else is refused before work starts.
import Foundation

public enum AtomicDirectory {
    /// Refuses `destination` when it is a file or a non-empty directory.
    public static func checkWritable(_ destination: URL) throws {
        let path = destination.path
        guard FileSystem.entryExists(path) else { return }
        guard FileSystem.isDirectory(path) else {
            throw CheckpointError("\(path) exists and is not a directory; refusing to replace it")
        }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? ["?"]
        guard entries.isEmpty else {
            throw CheckpointError("\(path) exists and is not empty; choose a new --out directory")
        }
    }

    /// Runs `fill` on a fresh temporary directory beside `destination`, then renames it into place.
    /// Returns what `fill` returns.
    @discardableResult
    public static func create<R>(_ destination: URL, fill: (URL) throws -> R) throws -> R {
        let destination = destination.standardizedFileURL
        try checkWritable(destination)
        let parent = destination.deletingLastPathComponent()
        if !FileSystem.isDirectory(parent.path) {
            do { try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true) } catch {
                throw CheckpointError("cannot create \(parent.path): \(error.localizedDescription)")
            }
        }
        let pid = ProcessInfo.processInfo.processIdentifier
        let temp = parent.appendingPathComponent(".\(destination.lastPathComponent).tmp-\(pid)", isDirectory: true)
        if FileSystem.entryExists(temp.path) { try? FileManager.default.removeItem(at: temp) }
        do { try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: false) } catch {
            throw CheckpointError("cannot create \(temp.path): \(FileSystem.errorText())")
        }
        do {
            let result = try fill(temp)
            try FileSystem.syncDirectory(temp.path)
            try checkWritable(destination)  // nothing appeared there meanwhile
            try FileSystem.rename(temp.path, to: destination.path)
            try FileSystem.syncDirectory(parent.path)
            return result
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw error
        }
    }

    /// Writes `data` to `directory/name` and fsyncs it.
    public static func writeFile(_ data: Foundation.Data, named name: String, in directory: URL) throws {
        try FileSystem.writeFile(data, to: directory.appendingPathComponent(name).path)
    }
}
