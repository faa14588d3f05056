// Whole entries fetched from a loopback HTTP server: the licence once before the first download,
// conversion after verification, nothing downloaded again on a second run; and the real sst2 entry
// (its pins and conversion) served from ../shared/data's original bytes, as `make demo-finetune`
// would fetch it on a clone without ../shared.
import Fetch
import Foundation
import TestSupport
import XCTest

final class FetcherTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tinygpt-fetcher-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    private func text(_ url: URL) -> String? { try? String(contentsOf: url, encoding: .utf8) }

    /// `entry` with every URL pointing at `server` (same file name) and the same pins.
    private func served(_ entry: CatalogEntry, by server: LoopbackServer) -> CatalogEntry {
        var copy = entry
        copy.files = entry.files.map { RemoteFile(url: server.url($0.url.lastPathComponent), path: $0.path,
                                                  bytes: $0.bytes, sha256: $0.sha256) }
        return copy
    }

    func testSmallSST2EntryDownloadsConvertsAndIsKeptOnTheSecondRun() throws {
        let train = Array("good fun . \t1\nbad . \t0\n".utf8), dev = Array("fine . \t1\n".utf8)
        let server = try LoopbackServer(files: ["sentiment-train": train, "sentiment-dev": dev])
        let entry = CatalogEntry(
            name: "sst2-small", summary: "test", licence: "test licence",
            files: [RemoteFile(url: server.url("sentiment-train"), path: "orig/sentiment-train", bytes: train.count,
                               sha256: DownloadTests.hex(train)),
                    RemoteFile(url: server.url("sentiment-dev"), path: "orig/sentiment-dev", bytes: dev.count,
                               sha256: DownloadTests.hex(dev))],
            conversion: .sst2)
        var events: [FetchEvent] = []
        let outputs = try Fetcher.fetch(entry, into: scratch) { events.append($0) }
        XCTAssertEqual(outputs.map(\.lastPathComponent), ["train.jsonl", "dev.jsonl"])
        XCTAssertEqual(text(scratch.appendingPathComponent("train.jsonl")),
                       "{\"text\": \"good fun .\", \"label\": 1}\n{\"text\": \"bad .\", \"label\": 0}\n")
        XCTAssertEqual(text(scratch.appendingPathComponent("dev.jsonl")), "{\"text\": \"fine .\", \"label\": 1}\n")
        XCTAssertEqual(events.first, .licence(name: "sst2-small", text: "test licence"))
        XCTAssertEqual(events.filter { if case .licence = $0 { return true } else { return false } }.count, 1)
        XCTAssertTrue(events.contains(.converted(path: scratch.appendingPathComponent("dev.jsonl").path)))

        events = []
        try Fetcher.fetch(entry, into: scratch) { events.append($0) }
        XCTAssertEqual(server.requests.count, 2, "nothing downloaded again")
        XCTAssertTrue(events.allSatisfy { if case .present = $0 { return true } else { return false } }, "\(events)")
    }

    func testRealSST2EntryServedFromTheSharedOriginals() throws {
        guard let shared = Fixtures.sharedData?.appendingPathComponent("sst2") else {
            throw XCTSkip("../shared/data is not present")
        }
        let server = try LoopbackServer(files: [
            "sentiment-train":
                Array(try Foundation.Data(contentsOf: shared.appendingPathComponent("orig/sentiment-train"))),
            "sentiment-dev":
                Array(try Foundation.Data(contentsOf: shared.appendingPathComponent("orig/sentiment-dev"))),
        ])
        let entry = served(try Catalog.entry(named: "sst2"), by: server)
        try Fetcher.fetch(entry, into: scratch) { _ in }
        for name in ["train.jsonl", "dev.jsonl"] {
            XCTAssertTrue(try Foundation.Data(contentsOf: scratch.appendingPathComponent(name))
                          == Foundation.Data(contentsOf: shared.appendingPathComponent(name)), name)
        }
    }

    func testConvertedFileThatDiffersFromItsPinIsRemoved() throws {
        let train = Array("good fun . \t1\n".utf8)
        let server = try LoopbackServer(files: ["sentiment-train": train, "sentiment-dev": train])
        var entry = try Catalog.entry(named: "sst2")
        entry.files = [
            RemoteFile(url: server.url("sentiment-train"), path: "orig/sentiment-train", bytes: nil, sha256: nil),
            RemoteFile(url: server.url("sentiment-dev"), path: "orig/sentiment-dev", bytes: nil, sha256: nil),
        ]
        XCTAssertThrowsError(try Fetcher.fetch(entry, into: scratch) { _ in }) { error in
            let converted = scratch.appendingPathComponent("train.jsonl").path
            XCTAssertTrue(String(describing: error).hasPrefix("converted \(converted) has sha256"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.appendingPathComponent("train.jsonl").path))
    }
}
