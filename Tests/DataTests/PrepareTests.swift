import Crypto
import Data
import Foundation
import Kernels
import TestSupport
import XCTest

final class PrepareTests: XCTestCase {
    func options(_ inputs: [URL], _ spec: TokenizerSpec = .char, out: URL) -> PrepareOptions {
        PrepareOptions(inputs: inputs, tokenizer: spec, output: out)
    }

    /// All tokens of one split of a prepared directory.
    func tokens(_ dir: DatasetDirectory, _ split: String) throws -> [Int32] {
        let urls = split == "train" ? dir.trainShards : dir.valShards
        let d = try TokenShardDataset(shardURLs: urls)
        return d.tokens(from: 0, count: d.count)
    }

    func testCharDatasetSplitsTheLastTenthAndRoundTrips() throws {
        let dir = ScratchDirectory()
        let text = String(repeating: "To be, or not to be: that is the question.\n", count: 40)  // 1720 bytes
        let input = dir.write("input.txt", text)
        var events: [String] = []
        let m = try DatasetPreparer.prepare(options([input], out: dir.file("out"))) { e in
            switch e {
            case .phaseStarted(let p, _): events.append(p.rawValue)
            case .shardWritten(let f, _): events.append(f)
            default: break
            }
        }
        XCTAssertEqual(events, ["scanning", "tokenizing", "train_000000.bin", "val_000000.bin"])
        XCTAssertEqual(m.train.tokens, 1548)  // int(1720 * 0.9)
        XCTAssertEqual(m.val.tokens, 172)
        XCTAssertEqual(m.documents, 1)
        XCTAssertEqual(m.tokenWidth, .uint16)
        XCTAssertEqual(m.sources.count, 1)
        XCTAssertEqual(m.sources[0].bytes, 1720)
        XCTAssertEqual(m.sources[0].sha256, SHA256.hash(data: Array(text.utf8)).hexString)

        let d = try DatasetDirectory(dir.file("out"))
        XCTAssertEqual(d.trainShards.map { $0.lastPathComponent }, ["train_000000.bin"])
        XCTAssertEqual(try d.loadManifest(), m)
        let tok = try d.loadTokenizer()
        XCTAssertEqual(tok.type, "char")
        XCTAssertEqual(tok.decode(try tokens(d, "train")) + tok.decode(try tokens(d, "val")), text)
        XCTAssertEqual(Set(dir.names()), ["input.txt", "out"])
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir.file("out").path)),
                       ["manifest.json", "tokenizer.json", "train_000000.bin", "val_000000.bin"])
    }

    func testTinyShakespeareCharMatchesNanoGPTCounts() throws {
        guard let shared = Fixtures.sharedData else { throw XCTSkip("../shared/data is not present") }
        let dir = ScratchDirectory()
        let m = try DatasetPreparer.prepare(options([shared.appendingPathComponent("tinyshakespeare.txt")],
                                                    out: dir.url))
        // nanoGPT data/shakespeare_char/prepare.py: "train has 1,003,854 tokens", "val has 111,540 tokens".
        XCTAssertEqual(m.vocabSize, 65)
        XCTAssertEqual(m.train.tokens, 1_003_854)
        XCTAssertEqual(m.val.tokens, 111_540)
        XCTAssertEqual(m.sources[0].sha256, "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed")
    }

    func testTinyShakespeareGPT2MatchesNanoGPTCounts() throws {
        guard let shared = Fixtures.sharedData else { throw XCTSkip("../shared/data is not present") }
        let dir = ScratchDirectory()
        var o = options([shared.appendingPathComponent("tinyshakespeare.txt")], .gpt2, out: dir.url)
        o.gpt2Directory = shared.appendingPathComponent("gpt2-bpe")
        let m = try DatasetPreparer.prepare(o)
        // nanoGPT data/shakespeare/prepare.py: "train has 301,966 tokens", "val has 36,059 tokens".
        XCTAssertEqual(m.train.tokens, 301_966)
        XCTAssertEqual(m.val.tokens, 36_059)
        XCTAssertEqual(m.vocabSize, 50_257)
        XCTAssertEqual(m.eotToken, 50_256)
        let d = try DatasetDirectory(dir.url)
        let tok = try d.loadTokenizer()
        XCTAssertEqual(tok.type, "gpt2")
        let text = try String(contentsOf: shared.appendingPathComponent("tinyshakespeare.txt"), encoding: .utf8)
        XCTAssertEqual(tok.decode(try tokens(d, "train")) + tok.decode(try tokens(d, "val")), text)
    }

    func testBytePairDatasetJoinsDocumentsWithEndOfText() throws {
        let dir = ScratchDirectory()
        var lines = ""
        for i in 0..<40 { lines += "{\"text\": \"document number \(i) says hello to the world\"}\n" }
        let input = dir.write("docs.jsonl", lines)
        var o = options([input], .bpe(vocabSize: 300), out: dir.file("out"))
        o.valFraction = 0.25
        var phases: [String] = []
        let m = try DatasetPreparer.prepare(o) { e in
            if case .phaseStarted(let p, _) = e { phases.append(p.rawValue) }
        }
        XCTAssertEqual(phases, ["scanning", "training", "tokenizing"])
        XCTAssertEqual(m.tokenizerType, "bpe")
        XCTAssertEqual(m.vocabSize, 300)
        XCTAssertEqual(m.eotToken, 299)
        XCTAssertEqual(m.tokenWidth, .uint16)
        XCTAssertEqual(m.documents, 40)
        let d = try DatasetDirectory(dir.file("out"))
        let tok = try d.loadTokenizer()
        let train = try tokens(d, "train"), val = try tokens(d, "val")
        // Documents whose line starts in the last quarter of the file's bytes are validation documents.
        let valDocs = (0..<40).filter { i in
            let start = (0..<i).reduce(0) {
                $0 + "{\"text\": \"document number \($1) says hello to the world\"}\n".utf8.count
            }
            return start >= Int(Double(lines.utf8.count) * 0.75)
        }
        XCTAssertEqual(train.filter { $0 == 299 }.count, 40 - valDocs.count - 1,
                       "one separator between consecutive train documents")
        XCTAssertEqual(val.first, 299, "the first validation document is separated from the last train one")
        let all = tok.decode(train + val)
        let documents = (0..<40).map { "document number \($0) says hello to the world" }
        XCTAssertEqual(all, documents.joined(separator: "<|endoftext|>"))
    }

    /// Tiny reads and batches cut the text into many pieces (and split multi-byte characters across
    /// reads); the tokens must equal encoding the whole text at once.
    func testPiecewiseEncodingEqualsWholeTextEncoding() throws {
        guard let shared = Fixtures.sharedData else { throw XCTSkip("../shared/data is not present") }
        let dir = ScratchDirectory()
        var text = try String(contentsOf: shared.appendingPathComponent("tinyshakespeare.txt"), encoding: .utf8)
        text = String(text.prefix(60_000))
            + "\n\nÜnïcödé 你好世界 👨‍👩‍👧 mixed   runs\t\t of  whitespace\u{3000}and\u{A0}more\n"
        text += String(repeating: "x", count: 5000) + " " + String(repeating: "€", count: 3000) + "   \n  end"
        let input = dir.write("t.txt", text)
        let tok = try BytePairTokenizer.loadGPT2(directory: shared.appendingPathComponent("gpt2-bpe"))
        for (read, batch) in [(7, 64), (1000, 3000), (4096, 1 << 20)] {
            var o = options([input], .gpt2, out: dir.file("out\(read)"))
            o.gpt2Directory = shared.appendingPathComponent("gpt2-bpe")
            o.valFraction = 0
            o.readBytes = read
            o.batchBytes = batch
            _ = try DatasetPreparer.prepare(o)
            let got = try tokens(try DatasetDirectory(dir.file("out\(read)")), "train"), want = tok.encode(text)
            let firstDifference = zip(got, want).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            XCTAssert(got == want,
                      "reads of \(read) bytes: \(got.count) vs \(want.count) tokens, first difference at "
                      + "\(firstDifference ?? min(got.count, want.count))")
        }
    }

    func testShardTokensSplitsIntoNumberedShards() throws {
        let dir = ScratchDirectory()
        let input = dir.write("a.txt", String(repeating: "abcdefghij", count: 100))  // 1000 chars
        let out = dir.file("out")
        var o = options([input], out: out)
        o.shardTokens = 256
        o.valFraction = 0.25
        let m = try DatasetPreparer.prepare(o)
        XCTAssertEqual(m.train.shards.map { $0.tokens }, [256, 256, 238])
        XCTAssertEqual(m.val.shards.map { $0.tokens }, [250])
        let d = try DatasetDirectory(out)
        XCTAssertEqual(d.trainShards.map { $0.lastPathComponent },
                       ["train_000000.bin", "train_000001.bin", "train_000002.bin"])
        let tok = try d.loadTokenizer()
        XCTAssertEqual(tok.decode(try tokens(d, "train")) + tok.decode(try tokens(d, "val")),
                       String(repeating: "abcdefghij", count: 100))
    }

    func testDirectoriesAndJSONLDocuments() throws {
        let dir = ScratchDirectory()
        dir.write("corpus/b.txt", "second file\n")
        dir.write("corpus/a.txt", "first file\n")
        dir.write("corpus/sub/c.jsonl", "{\"text\": \"json one\"}\n\n{\"text\": \"json two\", \"id\": 3}\n")
        dir.write("corpus/.hidden", "never read")
        dir.write("corpus/empty.txt", "")
        var o = options([dir.file("corpus")], out: dir.file("out"))
        o.valFraction = 0
        let m = try DatasetPreparer.prepare(o)
        XCTAssertEqual(m.sources.map { URL(fileURLWithPath: $0.path).lastPathComponent }, ["a.txt", "b.txt", "c.jsonl"])
        XCTAssertEqual(m.sources.map { $0.documents }, [1, 1, 2])
        XCTAssertEqual(m.documents, 4)
        XCTAssertEqual(m.val.tokens, 0)
        XCTAssertEqual(m.val.shards.count, 1, "an empty split still has its (empty) shard")
        let d = try DatasetDirectory(dir.file("out"))
        // The char tokenizer has no end-of-text token, so documents are simply concatenated.
        XCTAssertEqual(try d.loadTokenizer().decode(try tokens(d, "train")),
                       "first file\nsecond file\njson onejson two")
    }

    func testSameDatasetAgainIsAllowedADifferentOneIsRefused() throws {
        let dir = ScratchDirectory()
        let a = dir.write("a.txt", "some text for a dataset\n")
        let b = dir.write("b.txt", "other text\n")
        let out = dir.file("out")
        let first = try DatasetPreparer.prepare(options([a], out: out))
        XCTAssertEqual(try DatasetPreparer.prepare(options([a], out: out)), first)
        assertThrows(["out", "already holds a different dataset", "--overwrite"]) {
            try DatasetPreparer.prepare(options([b], out: out))
        }
        XCTAssertEqual(try DatasetDirectory(out).loadManifest(), first, "a refused prepare changes nothing")
        var o = options([b], out: out)
        o.overwrite = true
        let second = try DatasetPreparer.prepare(o)
        XCTAssertEqual(second.sources.map { $0.path }, [b.path])

        // Leftovers of an interrupted run (shards, no manifest) are not silently replaced either.
        let half = dir.file("half")
        try FileManager.default.createDirectory(at: half, withIntermediateDirectories: true)
        try TokenShardWriter.write([1, 2], to: half.appendingPathComponent("train_000000.bin"), width: .uint16)
        assertThrows(["half", "no manifest.json", "--overwrite"]) {
            try DatasetPreparer.prepare(options([a], out: half))
        }
        // Unrelated files in the output directory are fine and survive (nanoGPT keeps input.txt there).
        let mixed = dir.file("mixed")
        dir.write("mixed/input.txt", "keep me\n")
        _ = try DatasetPreparer.prepare(options([dir.file("mixed/input.txt")], out: mixed))
        XCTAssert(FileManager.default.fileExists(atPath: mixed.appendingPathComponent("input.txt").path))
    }

    func testBadInputsGiveOneLineErrors() throws {
        let dir = ScratchDirectory()
        let out = dir.file("out")
        assertThrows(["nope.txt", "input not found"]) {
            try DatasetPreparer.prepare(options([dir.file("nope.txt")], out: out))
        }
        let empty = dir.write("empty.txt", "")
        assertThrows(["empty.txt", "input is empty"]) { try DatasetPreparer.prepare(options([empty], out: out)) }
        try FileManager.default.createDirectory(at: dir.file("emptydir"), withIntermediateDirectories: true)
        assertThrows(["emptydir", "input is empty"]) {
            try DatasetPreparer.prepare(options([dir.file("emptydir")], out: out))
        }
        assertThrows(["--input", "at least one"]) { try DatasetPreparer.prepare(options([], out: out)) }

        let bad = dir.write("bad.txt", bytes: Array("héllo ".utf8) + [0xFF] + Array(" world".utf8))
        assertThrows(["bad.txt", "invalid UTF-8 at byte offset 7", "--errors replace"]) {
            try DatasetPreparer.prepare(options([bad], out: out))
        }
        let cut = dir.write("cut.txt", bytes: Array("abc".utf8) + [0xE2, 0x82])  // a truncated "€" at the end
        assertThrows(["cut.txt", "byte offset 3"]) { try DatasetPreparer.prepare(options([cut], out: out)) }
        let surrogate = dir.write("sur.txt", bytes: Array("ab".utf8) + [0xED, 0xA0, 0x80])
        assertThrows(["sur.txt", "byte offset 2"]) { try DatasetPreparer.prepare(options([surrogate], out: out)) }
        let overlong = dir.write("over.txt", bytes: [0x61, 0xC0, 0xAF])
        assertThrows(["over.txt", "byte offset 1"]) { try DatasetPreparer.prepare(options([overlong], out: out)) }

        let jsonl = dir.write("d.jsonl", "{\"text\": \"fine\"}\n{\"text\": \"fine\"}\n{\"text\": oops}\n")
        assertThrows(["d.jsonl:3", "not valid JSON"]) { try DatasetPreparer.prepare(options([jsonl], out: out)) }
        let noText = dir.write("e.jsonl", "{\"text\": \"fine\"}\n{\"body\": \"x\"}\n")
        assertThrows(["e.jsonl:2", "no \"text\" field"]) { try DatasetPreparer.prepare(options([noText], out: out)) }
        let numText = dir.write("f.jsonl", "{\"text\": 5}\n")
        assertThrows(["f.jsonl:1", "\"text\" is not a string"]) {
            try DatasetPreparer.prepare(options([numText], out: out))
        }
        let array = dir.write("g.jsonl", "[1, 2]\n")
        assertThrows(["g.jsonl:1", "expected a JSON object"]) {
            try DatasetPreparer.prepare(options([array], out: out))
        }
        let badJSONLBytes = Array("{\"text\": \"ok\"}\n{\"text\": \"".utf8) + [0xC3] + Array("\"}\n".utf8)
        let badJSONLByte = dir.write("h.jsonl", bytes: badJSONLBytes)
        assertThrows(["h.jsonl", "invalid UTF-8 at byte offset 25"]) {
            try DatasetPreparer.prepare(options([badJSONLByte], out: out))
        }

        let blank = dir.write("blank.jsonl", "\n  \n")
        assertThrows(["blank.jsonl", "no documents"]) { try DatasetPreparer.prepare(options([blank], out: out)) }
        var noFiles = options([dir.write("x.txt", "text")], .gpt2, out: out)
        noFiles.gpt2Directory = dir.file("emptydir")
        assertThrows(["emptydir/encoder.json", "not found"]) { try DatasetPreparer.prepare(noFiles) }

        var o = options([dir.write("ok.txt", "fine")], out: out)
        o.valFraction = 1
        assertThrows(["--val-fraction", "outside [0, 1)"]) { try DatasetPreparer.prepare(o) }
        o.valFraction = 0.1
        o.shardTokens = 0
        assertThrows(["--shard-tokens"]) { try DatasetPreparer.prepare(o) }
        assertThrows(["--tokenizer", "\"wordpiece\""]) { try TokenizerSpec(parsing: "wordpiece") }
        assertThrows(["--tokenizer", "bpe vocabulary size 100"]) { try TokenizerSpec(parsing: "bpe:100") }
        XCTAssertEqual(try TokenizerSpec(parsing: "bpe:1024"), .bpe(vocabSize: 1024))

        let notDir = dir.write("file-out", "x")
        assertThrows(["file-out", "not a directory"]) {
            try DatasetPreparer.prepare(options([dir.file("ok.txt")], out: notDir))
        }
    }

    func testReplaceModeSubstitutesAndCounts() throws {
        let dir = ScratchDirectory()
        let bad = dir.write("bad.txt", bytes: Array("ab ".utf8) + [0xFF, 0xFE] + Array(" cd \u{FFFD}".utf8))
        var o = options([bad], out: dir.file("out"))
        o.errors = .replace
        o.valFraction = 0
        let m = try DatasetPreparer.prepare(o)
        XCTAssertEqual(m.replacedSequences, 2)
        let d = try DatasetDirectory(dir.file("out"))
        XCTAssertEqual(try d.loadTokenizer().decode(try tokens(d, "train")), "ab \u{FFFD}\u{FFFD} cd \u{FFFD}")
    }

    func testDatasetDirectoryErrors() throws {
        let dir = ScratchDirectory()
        assertThrows(["nothing", "dataset directory", "not found"]) { try DatasetDirectory(dir.file("nothing")) }
        let d = dir.file("d")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        assertThrows(["no tokenizer.json"]) { try DatasetDirectory(d) }
        try CharTokenizer(corpus: "ab").save(to: d.appendingPathComponent("tokenizer.json"))
        assertThrows(["no manifest.json", "interrupted"]) { try DatasetDirectory(d) }
        // Without a manifest (shards from elsewhere) the shards are found by name.
        assertThrows(["no train_NNNNNN.bin"]) { try DatasetDirectory(d, allowMissingManifest: true) }
        try TokenShardWriter.write([0, 1, 1, 0], to: d.appendingPathComponent("train_000000.bin"), width: .uint16)
        assertThrows(["no val_NNNNNN.bin"]) { try DatasetDirectory(d, allowMissingManifest: true) }
        try TokenShardWriter.write([0, 5], to: d.appendingPathComponent("val_000000.bin"), width: .uint16)
        let ds = try DatasetDirectory(d, allowMissingManifest: true)
        XCTAssertNil(ds.manifest)
        assertThrows(["manifest.json", "not found"]) { try ds.loadManifest() }
        let vocab = try ds.loadTokenizer().vocabSize
        XCTAssertEqual(try ds.trainDataset(vocabSize: vocab).count, 4)
        assertThrows(["val_000000.bin", "token 1 has id 5", "vocabulary of 2"]) { try ds.valDataset(vocabSize: vocab) }
        dir.write("d/manifest.json", "{\"format\": \"tinygpt-dataset\"}")
        assertThrows(["manifest.json", "missing field"]) { try DatasetDirectory(d) }
    }

    func testManifestMustAgreeWithTheShards() throws {
        let dir = ScratchDirectory()
        let input = dir.write("a.txt", String(repeating: "abcdefghij", count: 100))
        var o = options([input], out: dir.file("out"))
        o.shardTokens = 300
        _ = try DatasetPreparer.prepare(o)
        // A shard listed in the manifest but gone.
        try FileManager.default.moveItem(at: dir.file("out/train_000001.bin"), to: dir.file("moved.bin"))
        assertThrows(["train_000001.bin is listed in manifest.json but missing"]) {
            try DatasetDirectory(dir.file("out"))
        }
        // A shard replaced by one of another size.
        try TokenShardWriter.write([1, 2, 3], to: dir.file("out/train_000001.bin"), width: .uint16)
        let d = try DatasetDirectory(dir.file("out"))
        assertThrows(["train_000001.bin", "holds 3 tokens but manifest.json lists 300"]) {
            try d.trainDataset(vocabSize: 10)
        }
        // Extra stray shards that the manifest does not list are ignored.
        try FileManager.default.removeItem(at: dir.file("out/train_000001.bin"))
        try FileManager.default.moveItem(at: dir.file("moved.bin"), to: dir.file("out/train_000001.bin"))
        try TokenShardWriter.write([1], to: dir.file("out/train_000009.bin"), width: .uint16)
        XCTAssertEqual(try DatasetDirectory(dir.file("out")).trainDataset(vocabSize: 10).count, 900)
    }

    func testFailedPrepareLeavesNothingBehind() throws {
        guard let shared = Fixtures.sharedData else { throw XCTSkip("../shared/data is not present") }
        let dir = ScratchDirectory()
        let good = dir.write("a.txt", String(repeating: "some good text here. ", count: 200))
        let bad = dir.write("b.txt", bytes: Array(String(repeating: "more text ", count: 50).utf8) + [0xFF])
        // GPT-2 needs no scanning pass, so shards are written (in the staging directory) before the bad
        // file is reached; the failure removes them with the staging directory.
        var o = options([good, bad], .gpt2, out: dir.file("out"))
        o.gpt2Directory = shared.appendingPathComponent("gpt2-bpe")
        o.shardTokens = 500
        o.batchBytes = 1024
        o.readBytes = 1024
        assertThrows(["b.txt", "invalid UTF-8 at byte offset 500"]) { try DatasetPreparer.prepare(o) }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.file("out").path)
        XCTAssertEqual(names, [], "a failed prepare into a new directory leaves it empty")
        var again = options([good], .gpt2, out: dir.file("out"))
        again.gpt2Directory = o.gpt2Directory
        again.overwrite = true
        _ = try DatasetPreparer.prepare(again)
        XCTAssertNotNil(try DatasetDirectory(dir.file("out")).manifest)
    }
}
