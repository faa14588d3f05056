// Downloads against a loopback HTTP server started here (127.0.0.1; nothing leaves the machine):
// verified download, corrupted byte, interrupted and resumed transfer, a server that ignores Range,
// 404, refused connection, and file:// sources.
import Crypto
import Fetch
import Foundation
import XCTest

final class DownloadTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tinygpt-fetch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    static func randomBytes(_ count: Int, seed: UInt64 = 7) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    static func hex(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() }

    private func pinned(_ server: LoopbackServer, _ path: String, _ bytes: [UInt8]) -> RemoteFile {
        RemoteFile(url: server.url(path), path: path, bytes: bytes.count, sha256: Self.hex(bytes))
    }

    private func contents(_ url: URL) -> [UInt8]? { (try? Foundation.Data(contentsOf: url)).map(Array.init) }

    private func partial(_ name: String) -> URL { scratch.appendingPathComponent(".\(name).partial") }

    private func assertOneLineError(_ body: () throws -> Void, contains fragments: [String],
                                    file: StaticString = #filePath, line: UInt = #line) {
        do {
            try body()
            XCTFail("expected an error", file: file, line: line)
        } catch {
            let text = String(describing: error)
            XCTAssertFalse(text.contains("\n"), "not one line: \(text)", file: file, line: line)
            for fragment in fragments {
                XCTAssertTrue(text.contains(fragment), "\"\(text)\" lacks \"\(fragment)\"", file: file, line: line)
            }
        }
    }

    func testDownloadShowsProgressVerifiesAndMovesIntoPlace() throws {
        let bytes = Self.randomBytes(700_000)
        let server = try LoopbackServer(files: ["a.bin": bytes])
        var events: [FetchEvent] = []
        let destination = scratch.appendingPathComponent("a.bin")
        try Download.fetch(pinned(server, "a.bin", bytes), to: destination) { events.append($0) }
        XCTAssertEqual(contents(destination), bytes)
        XCTAssertFalse(FileManager.default.fileExists(atPath: partial("a.bin").path))
        XCTAssertEqual(events.first, .started(url: server.url("a.bin"), resumeFrom: 0, total: bytes.count))
        XCTAssertEqual(events.last, .downloaded(path: destination.path, bytes: bytes.count))
        let progress = events.compactMap { e -> Int? in
            if case .progress(_, let b, _) = e { return b } else { return nil }
        }
        XCTAssertFalse(progress.isEmpty, "no progress events")
        XCTAssertEqual(progress, progress.sorted())
        XCTAssertEqual(progress.last, bytes.count)
        XCTAssertTrue(Download.isPresent(pinned(server, "a.bin", bytes), at: destination))
    }

    func testCorruptedByteFailsTheChecksumAndLeavesNothing() throws {
        let bytes = Self.randomBytes(50_000)
        var corrupted = bytes
        corrupted[12_345] ^= 0x01
        let server = try LoopbackServer(files: ["a.bin": corrupted])
        let destination = scratch.appendingPathComponent("a.bin")
        assertOneLineError({ try Download.fetch(self.pinned(server, "a.bin", bytes), to: destination) { _ in } },
                           contains: ["sha256 mismatch", server.url("a.bin").absoluteString, Self.hex(bytes)])
        XCTAssertFalse(FileManager.default.fileExists(atPath: destination.path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: partial("a.bin").path))
    }

    func testWrongSizeFailsAndLeavesNothing() throws {
        let bytes = Self.randomBytes(1000)
        let server = try LoopbackServer(files: ["a.bin": Array(bytes.dropLast())])
        let destination = scratch.appendingPathComponent("a.bin")
        assertOneLineError({ try Download.fetch(self.pinned(server, "a.bin", bytes), to: destination) { _ in } },
                           contains: ["size mismatch", server.url("a.bin").absoluteString, "999"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path), [])
    }

    func testInterruptedDownloadResumesWithARangeRequest() throws {
        let bytes = Self.randomBytes(400_000)
        let server = try LoopbackServer(files: ["a.bin": bytes])
        server.cutOnce("a.bin", after: 150_000)
        let destination = scratch.appendingPathComponent("a.bin")
        let file = pinned(server, "a.bin", bytes)
        assertOneLineError({ try Download.fetch(file, to: destination) { _ in } },
                           contains: ["download of \(server.url("a.bin").absoluteString) failed"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: destination.path))
        let kept = contents(partial("a.bin")) ?? []
        XCTAssertTrue(kept.count > 0 && kept.count <= 150_000, "the partial file keeps what arrived: \(kept.count)")
        XCTAssertEqual(kept, Array(bytes[0..<kept.count]))

        var events: [FetchEvent] = []
        try Download.fetch(file, to: destination) { events.append($0) }
        XCTAssertEqual(contents(destination), bytes)
        XCTAssertEqual(events.first, .started(url: file.url, resumeFrom: kept.count, total: bytes.count))
        XCTAssertEqual(server.requests.map(\.range), [nil, "bytes=\(kept.count)-"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: partial("a.bin").path))
    }

    func testServerIgnoringRangeRestartsFromZero() throws {
        let bytes = Self.randomBytes(20_000)
        let server = try LoopbackServer(files: ["a.bin": bytes])
        server.ignoreRange(true)
        try Foundation.Data(Self.randomBytes(5_000, seed: 99)).write(to: partial("a.bin"))  // a stale prefix
        let destination = scratch.appendingPathComponent("a.bin")
        try Download.fetch(pinned(server, "a.bin", bytes), to: destination) { _ in }
        XCTAssertEqual(contents(destination), bytes)
        XCTAssertEqual(server.requests.map(\.range), ["bytes=5000-"])
    }

    func testNotFoundIsAOneLineErrorNamingTheURL() throws {
        let server = try LoopbackServer(files: [:])
        let destination = scratch.appendingPathComponent("missing.bin")
        let file = RemoteFile(url: server.url("missing.bin"), path: "missing.bin", bytes: 10,
                              sha256: String(repeating: "0", count: 64))
        assertOneLineError({ try Download.fetch(file, to: destination) { _ in } },
                           contains: ["HTTP 404 from \(server.url("missing.bin").absoluteString)"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: destination.path))
    }

    func testRefusedConnectionIsAOneLineErrorNamingTheURL() throws {
        let url = URL(string: "http://127.0.0.1:\(closedLoopbackPort())/a.bin")!
        let file = RemoteFile(url: url, path: "a.bin", bytes: 10, sha256: String(repeating: "0", count: 64))
        let destination = scratch.appendingPathComponent("a.bin")
        assertOneLineError({ try Download.fetch(file, to: destination, timeout: 10) { _ in } },
                           contains: ["download of \(url.absoluteString) failed"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path), [], "nothing left behind")
    }

    func testFileURLSourceIsCopiedAndVerified() throws {
        let bytes = Self.randomBytes(3_000)
        let source = scratch.appendingPathComponent("source.bin")
        try Foundation.Data(bytes).write(to: source)
        let destination = scratch.appendingPathComponent("out/copy.bin")
        try Download.fetch(RemoteFile(url: source, path: "copy.bin", bytes: bytes.count, sha256: Self.hex(bytes)),
                           to: destination) { _ in }
        XCTAssertEqual(contents(destination), bytes)
        let missing = RemoteFile(url: scratch.appendingPathComponent("nope.bin"), path: "nope.bin", bytes: nil,
                                 sha256: nil)
        let target = scratch.appendingPathComponent("nope.bin")
        assertOneLineError({ try Download.fetch(missing, to: target) { _ in } }, contains: ["nope.bin", "no such file"])
    }

    func testUnpinnedFileWarnsAndIsKeptAsDownloaded() throws {
        let bytes = Self.randomBytes(2_000)
        let server = try LoopbackServer(files: ["w.bin": bytes])
        var events: [FetchEvent] = []
        let destination = scratch.appendingPathComponent("w.bin")
        try Download.fetch(RemoteFile(url: server.url("w.bin"), path: "w.bin", bytes: nil, sha256: nil),
                           to: destination) { events.append($0) }
        XCTAssertEqual(events.first, .unpinned(url: server.url("w.bin")))
        XCTAssertEqual(contents(destination), bytes)
    }

    func testUnpinnedPartialThatIsAlreadyWholeIsKept() throws {
        let bytes = Self.randomBytes(3_000)
        let server = try LoopbackServer(files: ["w.bin": bytes])
        try Foundation.Data(bytes).write(to: partial("w.bin"))  // interrupted just before the rename
        let destination = scratch.appendingPathComponent("w.bin")
        try Download.fetch(RemoteFile(url: server.url("w.bin"), path: "w.bin", bytes: nil, sha256: nil),
                           to: destination) { _ in }
        XCTAssertEqual(contents(destination), bytes)
        XCTAssertEqual(server.requests.map(\.range), ["bytes=3000-"])
    }
}
