// Shared by every libFuzzer harness here: a scratch directory per process (in /dev/shm when there is
// one, so writing each input costs little) and the input as bytes. Parsers under test read files, as
// users' files reach them, so each input is written to a file first.
import Foundation

enum FuzzScratch {
    static let directory: URL = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let url = URL(fileURLWithPath: base).appendingPathComponent("tinygpt-fuzz-\(getpid())", isDirectory: true)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    /// Writes `bytes` to `name` in the scratch directory and returns its URL.
    static func file(_ name: String, _ bytes: Foundation.Data) -> URL {
        let url = directory.appendingPathComponent(name)
        try? bytes.write(to: url)
        return url
    }
}

/// The input as Data (copied: the harness must not keep libFuzzer's buffer).
func fuzzInput(_ data: UnsafeRawPointer, _ size: Int) -> Foundation.Data {
    Foundation.Data(bytes: data, count: size)
}

/// The input split at the first "\n--\n" line into two parts (the second empty when there is none),
/// for formats that come as two files.
func splitInput(_ bytes: Foundation.Data) -> (Foundation.Data, Foundation.Data) {
    let marker = Foundation.Data("\n--\n".utf8)
    guard let r = bytes.range(of: marker) else { return (bytes, Foundation.Data()) }
    return (bytes.subdata(in: bytes.startIndex..<r.lowerBound), bytes.subdata(in: r.upperBound..<bytes.endIndex))
}
