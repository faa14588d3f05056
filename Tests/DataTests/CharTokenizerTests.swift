import Data
import Foundation
import TestSupport
import XCTest

final class CharTokenizerTests: XCTestCase {
    func testVocabularyIsSortedUniqueScalars() {
        let t = CharTokenizer(corpus: "hello world, héllo!")
        XCTAssertEqual(t.scalars.map { String($0) }.joined(), " !,dehlorwé")
        XCTAssertEqual(t.vocabSize, 11)
        XCTAssertNil(t.eotToken)
        XCTAssertEqual(t.specialTokens, [:])
        XCTAssertEqual(t.decode(t.encode("hello wörld")), "hello wrld", "encode drops unknown characters")
        XCTAssertEqual(t.decode(t.encode("héllo, world!")), "héllo, world!")
    }

    func testTinyShakespeareMatchesNanoGPT() throws {
        guard let shared = Fixtures.sharedData else { throw XCTSkip("../shared/data is not present") }
        let text = try String(contentsOf: shared.appendingPathComponent("tinyshakespeare.txt"), encoding: .utf8)
        let t = CharTokenizer(corpus: text)
        // nanoGPT data/shakespeare_char/prepare.py prints these: 65 characters, and the chars string.
        XCTAssertEqual(t.vocabSize, 65)
        XCTAssertEqual(t.scalars.map { String($0) }.joined(),
                       "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        XCTAssertEqual(t.encode("hii there"), [46, 47, 47, 1, 58, 46, 43, 56, 43])
        let ids = t.encode(text)
        XCTAssertEqual(ids.count, 1_115_394)
        XCTAssertEqual(t.decode(ids), text)
    }

    func testSerialisationRoundTripThroughLoader() throws {
        let dir = ScratchDirectory()
        let t = CharTokenizer(corpus: "ab\nc\u{1F600}é")
        let url = dir.file("tokenizer.json")
        try t.save(to: url)
        let loaded = try TokenizerLoader.load(url)
        XCTAssertEqual(loaded.type, "char")
        let c = try XCTUnwrap(loaded as? CharTokenizer)
        XCTAssertEqual(c.scalars, t.scalars)
        XCTAssertEqual(try loaded.serialized(), try t.serialized())
        XCTAssertEqual(dir.names(), ["tokenizer.json"], "no temporary file left behind")
    }

    func testCheckedEncodingNamesTheUnknownCharacter() {
        let t = CharTokenizer(corpus: "abc")
        assertThrows(["character z", "offset 2"]) { try t.encodeChecked("abz") }
        assertThrows(["U+A", "offset 1"]) { try t.encodeChecked("a\nb") }
        XCTAssertEqual(try t.encodeChecked("cab"), [2, 0, 1])
    }

    func testDecodeOutOfRangeIdsAsReplacementAndCheckIds() {
        let t = CharTokenizer(corpus: "ab")
        XCTAssertEqual(t.decode([0, 7, 1, -1]), "a\u{FFFD}b\u{FFFD}")
        assertThrows(["prompt", "token 1", "id 7", "vocabulary of 2"]) { try t.checkIds([0, 7], source: "prompt") }
    }

    func testBadTokenizerFiles() {
        let dir = ScratchDirectory()
        assertThrows(["missing.json", "not found"]) { try TokenizerLoader.load(dir.file("missing.json")) }
        let notJSON = dir.write("a.json", "{nope")
        assertThrows(["a.json", "not valid JSON"]) { try TokenizerLoader.load(notJSON) }
        let noType = dir.write("b.json", "{\"vocab\": [\"a\"]}")
        assertThrows(["b.json", "\"type\""]) { try TokenizerLoader.load(noType) }
        let unknown = dir.write("c.json", "{\"type\": \"wordpiece\"}")
        assertThrows(["c.json", "unknown tokenizer type \"wordpiece\""]) { try TokenizerLoader.load(unknown) }
        let twoChars = dir.write("d.json", "{\"type\": \"char\", \"vocab\": [\"a\", \"bc\"]}")
        assertThrows(["d.json", "vocab entry 1 holds 2 characters"]) { try TokenizerLoader.load(twoChars) }
        let unsorted = dir.write("e.json", "{\"type\": \"char\", \"vocab\": [\"b\", \"a\"]}")
        assertThrows(["e.json", "vocab entry 1 is out of order"]) { try TokenizerLoader.load(unsorted) }
    }
}
