// The catalog's pins and conversions against the copies in ../shared/data (skipped, with a message,
// where that folder is absent) and against small inline and committed fixtures (always run).
import Crypto
import Fetch
import Foundation
import TestSupport
import XCTest

final class CatalogTests: XCTestCase {
    private func bytes(_ url: URL) throws -> [UInt8] { Array(try Foundation.Data(contentsOf: url)) }

    private func shared() throws -> URL {
        guard let shared = Fixtures.sharedData else { throw XCTSkip("../shared/data is not present") }
        return shared
    }

    func testUnknownNameListsTheKnownOnes() {
        XCTAssertThrowsError(try Catalog.entry(named: "sst3")) { error in
            XCTAssertEqual(String(describing: error),
                           "unknown name \"sst3\" (known: tinyshakespeare, gpt2-bpe, sst2, alpaca-2k, gsm8k, gpt2, " +
                           "gpt2-medium, gpt2-large, gpt2-xl)")
        }
        XCTAssertEqual(try Catalog.entry(named: "sst2").name, "sst2")
    }

    func testEveryEntryButHuggingFacesIsPinnedAndRepositoriesAtACommit() {
        XCTAssertEqual(Set(Catalog.entries.map(\.name)).count, Catalog.entries.count)
        for entry in Catalog.entries {
            XCTAssertFalse(entry.licence.isEmpty, entry.name)
            for file in entry.files {
                if entry.name.hasPrefix("gpt2") && entry.name != "gpt2-bpe" {
                    XCTAssertNil(file.sha256, "\(file.url) is on a moving branch")
                    continue
                }
                XCTAssertNotNil(file.bytes, "\(file.url)")
                XCTAssertEqual(file.sha256?.count, 64, "\(file.url)")
                XCTAssertEqual(file.url.scheme, "https")
            }
            for step in entry.conversion.plan { XCTAssertEqual(entry.converted[step.output]?.count, 64, entry.name) }
        }
    }

    /// Each pinned source file the shared folder holds has the pinned size and checksum.
    func testPinsMatchTheSharedCopies() throws {
        let shared = try shared()
        let sharedPath = ["tinyshakespeare": "", "gpt2-bpe": "gpt2-bpe/", "sst2": "sst2/", "alpaca-2k": "alpaca-2k/",
                          "gsm8k": "gsm8k/"]
        var checked = 0
        for entry in Catalog.entries {
            guard let prefix = sharedPath[entry.name] else { continue }
            let converted = entry.converted.keys.map {
                RemoteFile(url: URL(fileURLWithPath: "/"), path: $0, bytes: nil, sha256: entry.converted[$0])
            }
            for file in entry.files + converted {
                let url = shared.appendingPathComponent(prefix + file.path)
                guard FileManager.default.fileExists(atPath: url.path) else { continue }  // gsm8k keeps no orig/
                let data = try bytes(url)
                if let size = file.bytes { XCTAssertEqual(data.count, size, url.path) }
                let digest = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
                XCTAssertEqual(digest, file.sha256, url.path)
                checked += 1
            }
        }
        XCTAssertEqual(checked, 13)
    }

    func testSST2ConversionOfTheSharedOriginalsIsByteIdentical() throws {
        let shared = try shared().appendingPathComponent("sst2")
        for (source, output) in [("orig/sentiment-train", "train.jsonl"), ("orig/sentiment-dev", "dev.jsonl")] {
            let converted = try Conversion.sst2.convert(shared.appendingPathComponent(source), output: output)
            XCTAssertTrue(converted == (try bytes(shared.appendingPathComponent(output))), output)
        }
    }

    func testAlpacaConversionOfTheSharedOriginalIsByteIdentical() throws {
        let shared = try shared().appendingPathComponent("alpaca-2k")
        for output in ["train.jsonl", "dev.jsonl"] {
            let converted = try Conversion.alpaca2k.convert(shared.appendingPathComponent("orig/alpaca_small.json"),
                                                            output: output)
            XCTAssertTrue(converted == (try bytes(shared.appendingPathComponent(output))), output)
        }
    }

    func testGSM8KConversionOfCommittedLinesIsByteIdentical() throws {
        let fixtures = Fixtures.directory.appendingPathComponent("gsm8k")
        let converted = try Conversion.gsm8k.convert(fixtures.appendingPathComponent("orig-test-head.jsonl"),
                                                     output: "test.jsonl")
        XCTAssertEqual(String(decoding: converted, as: UTF8.self),
                       String(decoding: try bytes(fixtures.appendingPathComponent("test-head.jsonl")), as: UTF8.self))
    }

    func testSST2ConversionEscapesAsPythonDoes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tinygpt-sst2-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = dir.appendingPathComponent("sentiment-train")
        let raw = "it 's a \"charming\" journey . \t1\n a back\\slash café\u{1F} \t0\n"
        try Foundation.Data(raw.utf8).write(to: source)
        let converted = try Conversion.sst2.convert(source, output: "train.jsonl")
        XCTAssertEqual(String(decoding: converted, as: UTF8.self),
                       "{\"text\": \"it 's a \\\"charming\\\" journey .\", \"label\": 1}\n"
                       + "{\"text\": \"a back\\\\slash café\", \"label\": 0}\n")
        try Foundation.Data("no label here\n".utf8).write(to: source)
        XCTAssertThrowsError(try Conversion.sst2.convert(source, output: "train.jsonl")) { error in
            XCTAssertEqual(String(describing: error), "\(source.path): line 1 is not \"sentence<TAB>0|1\"")
        }
    }
}
