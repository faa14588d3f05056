// One verified download: bytes go to a hidden `.NAME.partial` beside the destination, a partial file
// left by an interrupted run is resumed with an HTTP Range request (a server that answers 200
// instead of 206 restarts it from zero), the whole file is checked against its pinned size and
// SHA-256, and only then renamed into place (rename(2) is atomic within a folder). A file that fails
// the check is deleted, so nothing unverified is ever left under the final name or resumed later.
// http(s) goes through Foundation's URLSession (FoundationNetworking on Linux); file:// URLs are
// copied directly, for local mirrors.
import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A file to download, with what it must be.
public struct RemoteFile: Sendable, Equatable {
    /// Where it is downloaded from.
    public var url: URL
    /// Where it goes, relative to the entry's folder (`orig/sentiment-train`).
    public var path: String
    /// Expected size in bytes; nil when not pinned.
    public var bytes: Int?
    /// Expected SHA-256 (lower-case hex); nil when not pinned (the fetch warns).
    public var sha256: String?

    public init(url: URL, path: String, bytes: Int?, sha256: String?) {
        self.url = url
        self.path = path
        self.bytes = bytes
        self.sha256 = sha256
    }

    /// True when the file's checksum is pinned.
    public var isPinned: Bool { sha256 != nil }
}

/// What a fetch reports as it goes; the command-line tool renders these.
public enum FetchEvent: Sendable, Equatable {
    /// The licence terms of an entry, sent before its first download.
    case licence(name: String, text: String)
    /// A file without a pinned checksum is about to be downloaded.
    case unpinned(url: URL)
    /// A file is already in place (and matches its checksum, when pinned).
    case present(path: String)
    /// A download starts; `resumeFrom` > 0 when a partial file is resumed.
    case started(url: URL, resumeFrom: Int, total: Int?)
    /// Bytes of the file present so far (resumed part included).
    case progress(url: URL, bytes: Int, total: Int?)
    /// A file was verified and moved into place.
    case downloaded(path: String, bytes: Int)
    /// A converted file was written (and matches its pinned checksum, when pinned).
    case converted(path: String)
}

public enum Download {
    /// Downloads `file` to `destination` (resuming, verifying, then renaming into place).
    public static func fetch(_ file: RemoteFile, to destination: URL, timeout: TimeInterval = 60,
                             events: (FetchEvent) -> Void) throws {
        let folder = destination.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw FetchError.io(path: folder.path, problem: "cannot create the folder")
        }
        let partial = folder.appendingPathComponent("." + destination.lastPathComponent + ".partial")
        var have = fileSize(partial) ?? 0
        if let total = file.bytes, have > total {
            try? FileManager.default.removeItem(at: partial)
            have = 0
        }
        if !file.isPinned { events(.unpinned(url: file.url)) }
        if have != file.bytes {
            events(.started(url: file.url, resumeFrom: have, total: file.bytes))
            do {
                if file.url.isFileURL {
                    try copyLocal(file.url, to: partial, from: have, total: file.bytes, events: events)
                } else {
                    try transfer(file.url, to: partial, from: have, total: file.bytes, timeout: timeout, events: events)
                }
            } catch {
                // Keep what arrived, for the next run to resume; an empty file is not worth keeping.
                if fileSize(partial) == 0 { try? FileManager.default.removeItem(at: partial) }
                throw error
            }
        }
        try verify(partial, against: file)
        if rename(partial.path, destination.path) != 0 {
            throw FetchError.io(path: destination.path, problem: "cannot move the download into place: "
                                + String(cString: strerror(errno)))
        }
        events(.downloaded(path: destination.path, bytes: fileSize(destination) ?? 0))
    }

    /// True when `destination` holds the file (its pinned size and checksum, when pinned).
    public static func isPresent(_ file: RemoteFile, at destination: URL) -> Bool {
        guard let size = fileSize(destination) else { return false }
        if let bytes = file.bytes, bytes != size { return false }
        if let sha = file.sha256 { return (try? sha256(of: destination)) == sha }
        return true
    }

    /// SHA-256 of a file, read in 1 MiB pieces.
    public static func sha256(of url: URL) throws -> String {
        guard let handle = try? FileHandle(forReadingFrom: url) else {
            throw FetchError.io(path: url.path, problem: "cannot open")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            let chunk = handle.readData(ofLength: 1 << 20)
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
        }
        return hexString(hasher.finalize())
    }

    static func hexString(_ digest: SHA256.Digest) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    static func fileSize(_ url: URL) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue
    }

    private static func verify(_ partial: URL, against file: RemoteFile) throws {
        let size = fileSize(partial) ?? 0
        if let bytes = file.bytes, bytes != size {
            try? FileManager.default.removeItem(at: partial)
            throw FetchError.size(url: file.url.absoluteString, expected: bytes, got: size)
        }
        if let expected = file.sha256 {
            let got = try sha256(of: partial)
            if got != expected {
                try? FileManager.default.removeItem(at: partial)
                throw FetchError.checksum(url: file.url.absoluteString, expected: expected, got: got)
            }
        }
    }

    private static func openForAppend(_ url: URL) throws -> FileHandle {
        if !FileManager.default.fileExists(atPath: url.path) {
            FileManager.default.createFile(atPath: url.path, contents: nil)
        }
        guard let handle = try? FileHandle(forWritingTo: url) else {
            throw FetchError.io(path: url.path, problem: "cannot open for writing")
        }
        handle.seekToEndOfFile()
        return handle
    }

    private static func copyLocal(_ source: URL, to partial: URL, from offset: Int, total: Int?,
                                  events: (FetchEvent) -> Void) throws {
        guard let input = try? FileHandle(forReadingFrom: source) else {
            throw FetchError.transfer(url: source.absoluteString, problem: "no such file")
        }
        defer { try? input.close() }
        let output = try openForAppend(partial)
        defer { try? output.close() }
        input.seek(toFileOffset: UInt64(offset))
        var have = offset
        while true {
            let chunk = input.readData(ofLength: 1 << 20)
            if chunk.isEmpty { break }
            output.write(chunk)
            have += chunk.count
            events(.progress(url: source, bytes: have, total: total))
        }
    }

    private static func transfer(_ url: URL, to partial: URL, from offset: Int, total: Int?,
                                 timeout: TimeInterval, events: (FetchEvent) -> Void) throws {
        let output = try openForAppend(partial)
        defer { try? output.close() }
        let receiver = Receiver(url: url, output: output, offset: offset, total: total)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let session = URLSession(configuration: configuration, delegate: receiver, delegateQueue: queue)
        defer { session.finishTasksAndInvalidate() }
        var request = URLRequest(url: url)
        // Identity encoding: a Range counts bytes of the file itself, not of a compressed body.
        request.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        if offset > 0 { request.setValue("bytes=\(offset)-", forHTTPHeaderField: "Range") }
        session.dataTask(with: request).resume()
        // Progress is forwarded on this thread so that `events` need not be thread-safe.
        while true {
            let done = receiver.done.wait(timeout: .now() + 0.1) == .success
            if let bytes = receiver.takeProgress() { events(.progress(url: url, bytes: bytes, total: total)) }
            if done { break }
        }
        if let failure = receiver.failure { throw failure }
    }
}

/// URLSession delegate that appends the body to the partial file (after a 206) or restarts it
/// (after a 200), takes a 416 to a resumed request as "already complete", and turns any other
/// status or a transport error into a FetchError.
private final class Receiver: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    // Mutable state is touched only on the session's serial delegate queue, except `progress`
    // and `failure`, which the waiting thread reads under `lock` or after `done` is signalled.
    let url: URL
    let output: FileHandle
    let offset: Int
    let total: Int?
    let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var have: Int
    private var unreported: Int?
    var failure: FetchError?
    private var rangeWasWhole = false

    init(url: URL, output: FileHandle, offset: Int, total: Int?) {
        self.url = url
        self.output = output
        self.offset = offset
        self.total = total
        self.have = offset
    }

    func takeProgress() -> Int? {
        lock.lock(); defer { lock.unlock() }
        let value = unreported
        unreported = nil
        return value
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        switch status {
        case 206 where offset > 0:
            completionHandler(.allow)
        case 416 where offset > 0:
            // Nothing after `offset`: the partial file is already whole (the checks that follow decide).
            rangeWasWhole = true
            completionHandler(.cancel)
        case 200:
            if have > 0 {  // the server ignored the Range request: start over
                output.truncateFile(atOffset: 0)
                have = 0
            }
            completionHandler(.allow)
        default:
            failure = .http(url: url.absoluteString, status: status)
            completionHandler(.cancel)
        }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        output.write(data)
        lock.lock()
        have += data.count
        unreported = have
        lock.unlock()
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        if failure == nil, !rangeWasWhole, let error {
            failure = .transfer(url: url.absoluteString, problem: Receiver.describe(error))
        }
        done.signal()
    }

    private static func describe(_ error: Error) -> String {
        let text = (error as NSError).localizedDescription
        return text.split(separator: "\n").joined(separator: " ")
    }
}
