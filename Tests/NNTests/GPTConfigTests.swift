import Foundation
import XCTest
import NN

final class GPTConfigTests: XCTestCase {
    private func decode(_ json: String) throws -> GPTConfig {
        try JSONDecoder().decode(GPTConfig.self, from: Data(json.utf8))
    }

    private func assertThrows(_ json: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try decode(json)
            XCTFail("decoding \(json) should have failed", file: file, line: line)
        } catch {
            XCTAssertEqual("\(error)", expected, file: file, line: line)
        }
    }

    func testMissingKeysTakeNanoGPTDefaults() throws {
        let c = try decode("{}")
        XCTAssertEqual(c, GPTConfig(vocabSize: 50304, blockSize: 1024, nLayer: 12, nHead: 12, nEmbd: 768,
                                    dropout: 0, bias: true))
        let partial = try decode(
            #"{"n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 64, "bias": false, "dropout": 0.2}"#)
        XCTAssertEqual(partial, GPTConfig(vocabSize: 50304, blockSize: 64, nLayer: 4, nHead: 4, nEmbd: 128,
                                          dropout: 0.2, bias: false))
        XCTAssertEqual(partial.headSize, 32)
    }

    func testEncodeUsesNanoGPTNamesAndRoundTrips() throws {
        let c = GPTConfig(vocabSize: 65, blockSize: 256, nLayer: 6, nHead: 6, nEmbd: 384, dropout: 0.2, bias: false)
        let data = try JSONEncoder().encode(c)
        let keys = Set((try JSONSerialization.jsonObject(with: data) as! [String: Any]).keys)
        XCTAssertEqual(keys, ["vocab_size", "block_size", "n_layer", "n_head", "n_embd", "dropout", "bias"])
        XCTAssertEqual(try JSONDecoder().decode(GPTConfig.self, from: data), c)
    }

    func testUnknownKeyIsNamed() {
        assertThrows(#"{"n_layer": 2, "n_layers": 3}"#, #"unknown config key "n_layers""#)
    }

    func testWrongTypeIsNamed() {
        assertThrows(#"{"n_head": "four"}"#, #"config key "n_head" must be an integer"#)
        assertThrows(#"{"n_embd": 12.5}"#, #"config key "n_embd" must be an integer"#)
        assertThrows(#"{"bias": 3}"#, #"config key "bias" must be true or false"#)
        assertThrows(#"{"dropout": "high"}"#, #"config key "dropout" must be a number"#)
    }

    func testValidation() {
        func message(_ c: GPTConfig) -> String? {
            do { try c.validate(); return nil } catch { return "\(error)" }
        }
        XCTAssertNil(message(GPTConfig()))
        XCTAssertNil(message(GPTConfig(vocabSize: 17, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 32)))
        XCTAssertEqual(message(GPTConfig(nHead: 5)), "n_embd (768) must be divisible by n_head (5)")
        XCTAssertEqual(message(GPTConfig(vocabSize: 0)), "vocab_size must be a positive integer, got 0")
        XCTAssertEqual(message(GPTConfig(blockSize: -1)), "block_size must be a positive integer, got -1")
        XCTAssertEqual(message(GPTConfig(nLayer: 0)), "n_layer must be a positive integer, got 0")
        XCTAssertEqual(message(GPTConfig(nHead: 0)), "n_head must be a positive integer, got 0")
        XCTAssertEqual(message(GPTConfig(dropout: 1)), "dropout must be in [0, 1), got 1.0")
        XCTAssertEqual(message(GPTConfig(dropout: -0.1)), "dropout must be in [0, 1), got -0.1")
        XCTAssertEqual(message(GPTConfig(dropout: .nan)), "dropout must be in [0, 1), got nan")
    }
}
