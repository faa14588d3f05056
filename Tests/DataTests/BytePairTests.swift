import Data
import Foundation
import Kernels
import TestSupport
import XCTest

final class GPT2TokenizerTests: XCTestCase {
    func gpt2() throws -> BytePairTokenizer {
        guard let shared = Fixtures.sharedData else { throw XCTSkip("../shared/data is not present") }
        return try BytePairTokenizer.loadGPT2(directory: shared.appendingPathComponent("gpt2-bpe"))
    }

    func testLoadsGPT2Files() throws {
        let t = try gpt2()
        XCTAssertEqual(t.type, "gpt2")
        XCTAssertEqual(t.vocabSize, 50_257)
        XCTAssertEqual(t.mergeCount, 50_000)
        XCTAssertEqual(t.eotToken, 50_256)
        XCTAssertEqual(t.specialTokens, ["<|endoftext|>": 50_256])
        XCTAssertEqual(t.byteIds[Int(UInt8(ascii: "!"))], 0)   // encoder.json: "!" is id 0
        XCTAssertEqual(t.byteIds[0], 188)                      // byte 0 -> U+0100 "Ā" -> 188
    }

    /// Every line of reference.jsonl (ids made by tiktoken's "gpt2" encoding), encode and decode.
    func testMatchesTiktokenReferenceIds() throws {
        let t = try gpt2()
        let url = Fixtures.sharedData!.appendingPathComponent("gpt2-bpe/reference.jsonl")
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 54)
        for (n, line) in lines.enumerated() {
            let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let text = try XCTUnwrap(o["text"] as? String)
            let ids = try XCTUnwrap(o["ids"] as? [Int]).map { Int32($0) }
            let allowed = Set((o["allowed_special"] as? [String]) ?? [])
            let got = allowed.isEmpty ? t.encode(text) : t.encode(text, allowedSpecial: allowed)
            XCTAssertEqual(got, ids, "line \(n + 1): \(text.debugDescription)")
            XCTAssertEqual(Array(t.decode(ids).utf8), Array(text.utf8), "line \(n + 1) decode")
        }
    }

    func testRoundTripsTinyShakespeareWithTheKnownTokenCount() throws {
        let t = try gpt2()
        let text = try String(contentsOf: Fixtures.sharedData!.appendingPathComponent("tinyshakespeare.txt"),
                              encoding: .utf8)
        let ids = t.encode(text)
        XCTAssertEqual(ids.count, 338_025)  // ../shared/data/README.md (GPT-2 BPE token count)
        XCTAssertEqual(t.decode(ids), text)
    }

    /// The issue's goal: >= 5 MB/s per core of English text in release builds. Measured as this
    /// thread's CPU time (not wall time), so other work on the machine does not make it flaky.
    func testEncodingThroughputPerCore() throws {
        #if DEBUG
        throw XCTSkip("throughput is only meaningful in release builds (swift test -c release)")
        #else
        let t = try gpt2()
        let shared = Fixtures.sharedData!
        var text = try String(contentsOf: shared.appendingPathComponent("tinyshakespeare.txt"), encoding: .utf8)
        for line in try String(contentsOf: shared.appendingPathComponent("gsm8k/train.jsonl"),
                               encoding: .utf8).split(separator: "\n") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            text += object?["completion"] as? String ?? ""
        }
        let fresh = try BytePairTokenizer(type: t.type, byteIds: t.byteIds, merges: t.merges,
                                          specialTokens: t.specialTokens)
        func threadSeconds() -> Double {
            var ts = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
            return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
        }
        let start = threadSeconds()
        let ids = fresh.encode(text)  // an empty word cache: every distinct word is merged once
        let mbPerSecond = Double(text.utf8.count) / (threadSeconds() - start) / 1e6
        XCTAssertGreaterThan(ids.count, text.utf8.count / 5)
        XCTAssertGreaterThan(mbPerSecond, 5, "GPT-2 encoding ran at \(mbPerSecond) MB/s per core")
        print("GPT-2 encoding: \(text.utf8.count) bytes at \(String(format: "%.1f", mbPerSecond)) MB/s per core "
              + "(thread CPU time)")
        #endif
    }

    func testSerialisedTokenizerIsTheSameTokenizer() throws {
        let t = try gpt2()
        let dir = ScratchDirectory()
        try t.save(to: dir.file("tokenizer.json"))
        let loaded = try XCTUnwrap(try TokenizerLoader.load(dir.file("tokenizer.json")) as? BytePairTokenizer)
        XCTAssertEqual(loaded.type, "gpt2")
        XCTAssertEqual(loaded.vocabSize, 50_257)
        XCTAssertEqual(loaded.byteIds, t.byteIds)
        let sample = "The quick brown fox 🦊 jumps, naïvely.\n\n  x"
        XCTAssertEqual(loaded.encode(sample), t.encode(sample))
    }

    func testStreamingDecoderNeverSplitsACharacter() throws {
        let t = try gpt2()
        let text = "Hi 👨‍👩‍👧 and 你好 and é!"
        let ids = t.encode(text)
        var d = StreamingDecoder(tokenizer: t)
        var pieces: [String] = []
        for id in ids { pieces.append(d.push(id)) }
        pieces.append(d.finish())
        XCTAssertEqual(pieces.joined(), text)
        XCTAssertFalse(pieces.joined().contains("\u{FFFD}"))
        // Some tokens end mid-character: those pushes return "" and nothing ever contains U+FFFD.
        XCTAssert(pieces.contains(""), "expected at least one token to end inside a character")
        for p in pieces { XCTAssertFalse(p.unicodeScalars.contains("\u{FFFD}")) }
    }

    func testBadGPT2Files() throws {
        let dir = ScratchDirectory()
        assertThrows(["encoder.json", "not found"]) { try BytePairTokenizer.loadGPT2(directory: dir.url) }
        dir.write("encoder.json", "[1]")
        dir.write("vocab.bpe", "#version: 0.2\n")
        assertThrows(["encoder.json", "expected a JSON object"]) { try BytePairTokenizer.loadGPT2(directory: dir.url) }
    }
}

final class BytePairTrainingTests: XCTestCase {
    func testHandWorkedMerges() throws {
        // Pieces: "ab" x1, " ab" x2, " cd" x1. Pair counts: (a,b) 3, (" ",a) 2, (" ",c) 1, (c,d) 1.
        // Merge 0: (a,b) -> 256. Then (" ",256) occurs 2 times -> 257. Then (" ",c) and (c,d) tie at
        // one occurrence: the smaller pair (32, 99) -> 258, then (258, d) -> 259. No pairs remain.
        let trainer = BytePairTrainer()
        trainer.add("ab ab ab cd")
        let t = try trainer.train(vocabSize: 300)
        XCTAssertEqual(t.merges.map { [$0.0, $0.1] }, [[97, 98], [32, 256], [32, 99], [258, 100]])
        XCTAssertEqual(t.vocabSize, 261)
        XCTAssertEqual(t.eotToken, 260)
        XCTAssertEqual(t.encode("ab ab cd"), [256, 257, 259])
        XCTAssertEqual(t.encode("cab"), [99, 256])
        XCTAssertEqual(t.decode([256, 257, 260]), "ab ab<|endoftext|>")
        let small = BytePairTrainer()
        small.add("ab ab ab cd")
        XCTAssertEqual(try small.train(vocabSize: 259).merges.count, 2, "stops at the requested size")
    }

    func testTinyShakespeareTo1024TokensQuicklyRoundTripsAndIsDeterministic() throws {
        guard let shared = Fixtures.sharedData else { throw XCTSkip("../shared/data is not present") }
        let text = try String(contentsOf: shared.appendingPathComponent("tinyshakespeare.txt"), encoding: .utf8)
        let start = Date()
        let trainer = BytePairTrainer()
        trainer.add(text)
        let t = try trainer.train(vocabSize: 1024)
        let seconds = Date().timeIntervalSince(start)
        XCTAssertLessThan(seconds, 10, "training took \(seconds) s")
        XCTAssertEqual(t.vocabSize, 1024)
        XCTAssertEqual(t.mergeCount, 767)
        let ids = t.encode(text)
        XCTAssertEqual(t.decode(ids), text)
        XCTAssertLessThan(ids.count, text.utf8.count / 2, "1024 tokens should at least halve the byte count")
        // Byte fallback: text the corpus never contained still round-trips.
        let unseen = "Zürich 🧪 数据 \u{0}\t\r\n ẞ"
        XCTAssertEqual(t.decode(t.encode(unseen)), unseen)

        let again = BytePairTrainer()
        again.add(text)
        XCTAssertEqual(try again.train(vocabSize: 1024).merges.map { [$0.0, $0.1] }, t.merges.map { [$0.0, $0.1] })

        let dir = ScratchDirectory()
        try t.save(to: dir.file("tokenizer.json"))
        let loaded = try TokenizerLoader.load(dir.file("tokenizer.json"))
        XCTAssertEqual(loaded.type, "bpe")
        XCTAssertEqual(loaded.encode(text), ids)
    }

    func testLongPiecesUseTheSameMergesAsShortOnes() throws {
        // A piece longer than the quadratic path's limit goes through the heap path; the result must
        // equal encoding it with the short path, checked by building it from two short halves that
        // cannot merge across (a digit run and a letter run are separate pieces anyway), and by the
        // per-piece round trip.
        let trainer = BytePairTrainer()
        trainer.add(String(repeating: "abcabcabd ", count: 50) + String(repeating: "aaaa ", count: 30))
        let t = try trainer.train(vocabSize: 300)
        for n in [1, 2, 3, 47, 48, 49, 50, 97, 500] {
            let word = String(repeating: "a", count: n)
            let ids = t.encode(word)
            XCTAssertEqual(t.decode(ids), word)
            // Greedy lowest-rank merging of a run of one letter is deterministic: compare with a
            // straightforward Swift re-implementation over the public merge list.
            XCTAssertEqual(ids, referenceMerge(Array(word.utf8).map { Int32($0) }, merges: t.merges), "a x \(n)")
        }
        var rng = RandomGenerator(seed: 99)
        let letters = Array("abcd")
        for _ in 0..<50 {
            let n = 40 + rng.nextInt(below: 200)
            let word = String((0..<n).map { _ in letters[rng.nextInt(below: 4)] })
            XCTAssertEqual(t.encode(word), referenceMerge(Array(word.utf8).map { Int32($0) }, merges: t.merges), word)
        }
    }

    /// openai/gpt-2 encoder.py's bpe loop in its plainest form: merge every occurrence of the
    /// lowest-ranked pair, repeat.
    func referenceMerge(_ ids: [Int32], merges: [(Int32, Int32)]) -> [Int32] {
        var rank: [[Int32]: Int] = [:]
        for (i, m) in merges.enumerated() { rank[[m.0, m.1]] = i }
        var w = ids
        while w.count > 1 {
            var best = Int.max
            for i in 0..<(w.count - 1) { if let r = rank[[w[i], w[i + 1]]], r < best { best = r } }
            if best == Int.max { break }
            let (a, b) = merges[best]
            var out: [Int32] = []
            var i = 0
            while i < w.count {
                if i + 1 < w.count && w[i] == a && w[i + 1] == b {
                    out.append(Int32(256 + best)); i += 2
                } else {
                    out.append(w[i]); i += 1
                }
            }
            w = out
        }
        return w
    }
}


final class BytePairFileFormatTests: XCTestCase {
    func testMergesRoundTripAndBadMergeText() throws {
        let t = try BytePairTokenizer(type: "bpe", byteIds: (0..<256).map { Int32($0) },
                                      merges: [(97, 98), (256, 99), (32, 257)], specialTokens: ["<|endoftext|>": 259])
        let o = t.jsonObject()
        XCTAssertEqual(o["merges"] as? String, "97 98\n256 99\n32 257")
        XCTAssertNil(o["byte_ids"], "the identity byte table is left out")
        let back = try XCTUnwrap(try TokenizerLoader.decode(try t.serialized(), source: "t.json") as? BytePairTokenizer)
        XCTAssertEqual(back.merges.map { [$0.0, $0.1] }, [[97, 98], [256, 99], [32, 257]])
        XCTAssertEqual(back.encode("abc abc"), t.encode("abc abc"))

        func load(_ merges: Any, specials: [String: Int] = [:]) throws -> any Tokenizer {
            try TokenizerLoader.decode(["type": "bpe", "merges": merges, "special_tokens": specials], source: "t.json")
        }
        XCTAssertEqual(try load("").vocabSize, 256)
        XCTAssertEqual(try load("97 98\n").vocabSize, 257, "a final newline is fine")
        assertThrows(["t.json", "merges line 2"]) { try load("97 98\n97") }
        assertThrows(["t.json", "merges line 1"]) { try load("97  98") }
        assertThrows(["t.json", "merges line 1"]) { try load("-1 98") }
        assertThrows(["t.json", "merge 1 (97, 300)", "not defined before it"]) { try load("97 98\n97 300") }
        assertThrows(["t.json", "merge 1 (97, 98) repeats"]) { try load("97 98\n97 98") }
        assertThrows(["t.json", "special token <|endoftext|> has id 5"]) {
            try load("97 98", specials: ["<|endoftext|>": 5])
        }
        assertThrows(["t.json", "\"merges\" must be"]) { try load(["x"]) }
    }
}
