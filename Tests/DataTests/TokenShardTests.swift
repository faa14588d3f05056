import Data
import Foundation
import XCTest

final class TokenShardTests: XCTestCase {
    /// A shard assembled byte by byte as llm.c's dev/data/data_common.py write_datafile lays it out:
    /// 256 little-endian int32 (magic, version, count, zeros), then the tokens.
    func llmcShard(magic: Int32, version: Int32, count: Int32, tokenBytes: [UInt8]) -> [UInt8] {
        var b = le32(magic) + le32(version) + le32(count)
        for _ in 3..<256 { b += le32(0) }
        return b + tokenBytes
    }

    func testReadsAndWritesLLMCUInt16Shard() throws {
        let dir = ScratchDirectory()
        let tokens: [UInt16] = [0, 1, 50256, 65535, 7]
        let expected = llmcShard(magic: 20240520, version: 1, count: 5, tokenBytes: tokens.flatMap(le16))
        XCTAssertEqual(expected.count, 1024 + 10)
        let url = dir.write("llmc.bin", bytes: expected)
        let shard = try TokenShard(url: url)
        XCTAssertEqual(shard.width, .uint16)
        XCTAssertEqual(shard.count, 5)
        XCTAssertEqual(shard.allTokens(), tokens.map { Int32($0) })
        XCTAssertEqual(shard[2], 50256)

        let ours = dir.file("ours.bin")
        try TokenShardWriter.write(tokens.map { Int32($0) }, to: ours, width: .uint16)
        XCTAssertEqual(Array(try Data(contentsOf: ours)), expected, "writer output differs from llm.c's layout")
        XCTAssertEqual(dir.names(), ["llmc.bin", "ours.bin"])
    }

    func testUInt32VariantUsesLLMCLlama3Header() throws {
        let dir = ScratchDirectory()
        let tokens: [UInt32] = [0, 65536, 100_000, 4_000_000_000 >> 2]
        let expected = llmcShard(magic: 20240801, version: 7, count: 4, tokenBytes: tokens.flatMap(leU32))
        let ours = dir.file("ours.bin")
        try TokenShardWriter.write(tokens.map { Int32(bitPattern: $0) }, to: ours, width: .uint32)
        XCTAssertEqual(Array(try Data(contentsOf: ours)), expected)
        let shard = try TokenShard(url: ours)
        XCTAssertEqual(shard.width, .uint32)
        XCTAssertEqual(shard.allTokens(), tokens.map { Int32(bitPattern: $0) })
        XCTAssertEqual(TokenShardFormat.width(forVocabSize: 65_536), .uint16)
        XCTAssertEqual(TokenShardFormat.width(forVocabSize: 65_537), .uint32)
    }

    func testEmptyShardRoundTrips() throws {
        let dir = ScratchDirectory()
        try TokenShardWriter.write([], to: dir.file("e.bin"), width: .uint16)
        let s = try TokenShard(url: dir.file("e.bin"))
        XCTAssertEqual(s.count, 0)
        XCTAssertEqual(s.allTokens(), [])
    }

    func testBadShardsAreRefusedWithOneLineNamingTheFile() {
        let dir = ScratchDirectory()
        let two = [UInt16(1), 2].flatMap(le16)
        let badMagic = dir.write("magic.bin", bytes: llmcShard(magic: 20240521, version: 1, count: 2, tokenBytes: two))
        assertThrows(["magic.bin", "wrong magic number 20240521", "20240520"]) { try TokenShard(url: badMagic) }
        let badVersion = dir.write("version.bin",
                                   bytes: llmcShard(magic: 20240520, version: 7, count: 2, tokenBytes: two))
        assertThrows(["version.bin", "unsupported version 7", "expected 1"]) { try TokenShard(url: badVersion) }
        let badCount = dir.write("count.bin", bytes: llmcShard(magic: 20240520, version: 1, count: 3, tokenBytes: two))
        assertThrows(["count.bin", "header says 3 tokens (6 bytes)", "holds 4 bytes"]) { try TokenShard(url: badCount) }
        let negative = dir.write("neg.bin", bytes: llmcShard(magic: 20240520, version: 1, count: -1, tokenBytes: two))
        assertThrows(["neg.bin", "header says -1 tokens"]) { try TokenShard(url: negative) }
        let short = dir.write("short.bin", bytes: Array(le32(20240520) + le32(1)))
        assertThrows(["short.bin", "8 bytes is too short"]) { try TokenShard(url: short) }
        assertThrows(["nothere.bin", "not found"]) { try TokenShard(url: dir.file("nothere.bin")) }
    }

    func testWriterRefusesIdsThatDoNotFitAndLeavesNoFile() {
        let dir = ScratchDirectory()
        assertThrows(["x.bin", "id 65536"]) {
            try TokenShardWriter.write([1, 65536], to: dir.file("x.bin"), width: .uint16)
        }
        assertThrows(["y.bin", "id -3"]) { try TokenShardWriter.write([-3], to: dir.file("y.bin"), width: .uint32) }
        XCTAssertEqual(dir.names(), [], "a failed write must leave neither a shard nor a partial file")
    }

    func testUnfinishedWriterLeavesNoShardThatLooksComplete() throws {
        let dir = ScratchDirectory()
        do {
            let w = try TokenShardWriter(url: dir.file("train_000000.bin"), width: .uint16)
            try w.append([1, 2, 3])
            XCTAssertEqual(dir.names(), ["train_000000.bin.partial"])
        }  // dropped without finish(), as when prepare stops on an error
        XCTAssertEqual(dir.names(), [])
    }

    func testDatasetReadsAcrossShardBoundaries() throws {
        let dir = ScratchDirectory()
        let parts: [[Int32]] = [[0, 1, 2], [], [3], [4, 5, 6, 7], []]
        var urls: [URL] = []
        for (i, p) in parts.enumerated() {
            urls.append(dir.file("s\(i).bin"))
            try TokenShardWriter.write(p, to: urls[i], width: .uint16)
        }
        let d = try TokenShardDataset(shardURLs: urls)
        XCTAssertEqual(d.count, 8)
        for start in 0...8 { for n in 0...(8 - start) {
            XCTAssertEqual(d.tokens(from: start, count: n), (start..<(start + n)).map { Int32($0) }, "\(start)+\(n)")
        } }
        XCTAssertEqual(d[3], 3)
        XCTAssertNoThrow(try d.validate(vocabSize: 8))
        assertThrows(["s3.bin", "token 3 has id 7", "vocabulary of 7"]) { try d.validate(vocabSize: 7) }
    }
}
