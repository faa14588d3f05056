// Exports and their round trips: Hugging Face folders (names and shapes against the listing of what
// GPT2LMHeadModel expects, written by scripts/make_interop_fixtures.py from transformers), llm.c model
// files (header and layout byte for byte) and tokenizer files; export → import gives the same bits.
import XCTest
import Autograd
import Checkpoint
import Data
import Kernels
import NN
import TestSupport

final class InteropExportTests: XCTestCase {
    static let interop = Fixtures.directory.appendingPathComponent("interop")
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("interop-export-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    func assertBitwiseEqual(_ a: GPT, _ b: GPT, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.parameters.map(\.name), b.parameters.map(\.name), file: file, line: line)
        for (p, q) in zip(a.parameters, b.parameters) {
            XCTAssertEqual(p.tensor.shape, q.tensor.shape, p.name, file: file, line: line)
            XCTAssertEqual(p.tensor.array.map(\.bitPattern), q.tensor.array.map(\.bitPattern), p.name,
                           file: file, line: line)
        }
    }

    func fixtureModel() throws -> GPT {
        try HuggingFaceGPT2.load(folder: Self.interop.appendingPathComponent("gpt2-tiny")).model
    }

    // MARK: Hugging Face

    func testHFExportReimportsBitwiseAndMatchesTheListing() throws {
        let model = try fixtureModel()
        let out = dir.appendingPathComponent("hf")
        try AtomicDirectory.create(out) { d in
            try HuggingFaceExport.write(model.config, parameters: model.parameters, eot: 300, to: d)
        }
        assertBitwiseEqual(model, try HuggingFaceGPT2.load(folder: out).model)

        let listing = try Fixtures.load("interop/gpt2-tiny.listing.json")
        let expected = (listing["tensors"] as! [[String: Any]]).map { "\($0["name"]!) \(Fixtures.ints($0["shape"]))" }
        let file = try SafeTensorsFile(contentsOf: out.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(file.entries.map { "\($0.name) \($0.shape)" }.sorted(), expected.sorted())
        XCTAssertEqual(Set(file.entries.map(\.dtype)), ["F32"])
        XCTAssertEqual(file.metadata["format"], "pt")

        let reference = listing["config"] as! [String: Any]
        let configData = try Data(contentsOf: out.appendingPathComponent("config.json"))
        let written = try JSONSerialization.jsonObject(with: configData) as! [String: Any]
        for key in written.keys.sorted() where key != "tinygpt" {
            XCTAssertNotNil(reference[key], "config.json key \(key) is not a GPT2Config field")
        }
        for key in ["model_type", "activation_function", "vocab_size", "n_positions", "n_embd", "n_layer", "n_head",
                    "layer_norm_epsilon", "scale_attn_weights", "scale_attn_by_inverse_layer_idx",
                    "reorder_and_upcast_attn", "tie_word_embeddings", "bos_token_id", "eos_token_id"] {
            XCTAssertEqual("\(written[key] ?? "absent")", "\(reference[key] ?? "absent")", key)
        }
        XCTAssertEqual(written["architectures"] as? [String], ["GPT2LMHeadModel"])
        XCTAssertTrue(written["n_inner"] is NSNull)
    }

    func testBiasFreeModelExportsZeroBiasesAndReimportsBitwise() throws {
        let config = GPTConfig(vocabSize: 40, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 12, dropout: 0, bias: false)
        let model = GPT(config: config, seed: 7, trainable: false)
        let out = dir.appendingPathComponent("hf")
        try AtomicDirectory.create(out) { d in
            try HuggingFaceExport.write(config, parameters: model.parameters, eot: nil, to: d)
        }
        // The file holds zero biases (what GPT2LMHeadModel needs); config.json's "tinygpt" marker
        // brings the bias-free model back bit for bit.
        let file = try SafeTensorsFile(contentsOf: out.appendingPathComponent("model.safetensors"))
        let bias = try file.tensor("transformer.h.1.mlp.c_fc.bias")
        XCTAssertEqual(bias.array, [Float](repeating: 0, count: 48))
        let back = try HuggingFaceGPT2.load(folder: out).model
        XCTAssertFalse(back.config.bias)
        assertBitwiseEqual(model, back)
        let ids: [Int32] = [1, 5, 39, 0, 7, 7, 2, 11]
        var r1 = RandomGenerator(seed: 0), r2 = RandomGenerator(seed: 0)
        let a = model.forward(ids, batch: 2, time: 4, training: false, rng: &r1).array
        let b = back.forward(ids, batch: 2, time: 4, training: false, rng: &r2).array
        XCTAssertTrue(compareClose(b, a, rtol: 0, atol: 1e-6, name: "logits").ok)
    }

    func testBytePairTokenizerFilesRoundTrip() throws {
        let folder = Self.interop.appendingPathComponent("gpt2-tiny")
        let tok = try XCTUnwrap(HuggingFaceTokenizerFiles.read(folder: folder) as? BytePairTokenizer)
        let out = dir.appendingPathComponent("tok")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let files = try HuggingFaceTokenizerFiles.files(for: tok, maxLength: 32)
        XCTAssertEqual(files.map(\.name).sorted(),
                       ["merges.txt", "tokenizer.json", "tokenizer_config.json", "vocab.json"])
        for (name, data) in files { try data.write(to: out.appendingPathComponent(name)) }
        // vocab.json + merges.txt equal the originals' content; tokenizer.json alone reads back the same.
        let originalData = try Data(contentsOf: Self.interop.appendingPathComponent("gpt2-tiny/vocab.json"))
        let original = try JSONSerialization.jsonObject(with: originalData) as! [String: Int]
        let writtenData = try Data(contentsOf: out.appendingPathComponent("vocab.json"))
        XCTAssertEqual(try JSONSerialization.jsonObject(with: writtenData) as! [String: Int], original)
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("merges.txt")),
                       try String(contentsOf: Self.interop.appendingPathComponent("gpt2-tiny/merges.txt")))
        let tokenizerJSON = out.appendingPathComponent("tokenizer.json")
        let back = try XCTUnwrap(HuggingFaceTokenizerFiles.readTokenizerJSON(tokenizerJSON) as? BytePairTokenizer)
        XCTAssertEqual(back.byteIds, tok.byteIds)
        XCTAssertEqual(back.merges.map { [$0.0, $0.1] }, tok.merges.map { [$0.0, $0.1] })
        XCTAssertEqual(back.specialTokens, tok.specialTokens)
    }

    func testTrainedBytePairAndCharTokenizersRoundTripThroughTokenizerJSON() throws {
        let text = "the cat sat on the mat; the cat ate the rat. Ünïcödé ✓\n"
        let trainer = BytePairTrainer()
        trainer.add(String(repeating: text, count: 4))
        let trained = try trainer.train(vocabSize: 300)
        let char = CharTokenizer(corpus: text)
        for tok in [trained as any Tokenizer, char] {
            let files = try HuggingFaceTokenizerFiles.files(for: tok, maxLength: 64)
            let url = dir.appendingPathComponent("\(tok.type)-tokenizer.json")
            try files.first { $0.name == "tokenizer.json" }!.data.write(to: url)
            let back = try HuggingFaceTokenizerFiles.readTokenizerJSON(url)
            XCTAssertEqual(back.vocabSize, tok.vocabSize, tok.type)
            XCTAssertEqual(back.encode(text), tok.encode(text), tok.type)
        }
    }

    // MARK: llm.c

    /// A tiny model whose every value is its index in the arena (so any misplaced float shows), modulo
    /// `modulo` (256 keeps every value exact in bfloat16).
    func indexedModel(bias: Bool = true, modulo: Int = 1 << 24) -> GPT {
        let config = GPTConfig(vocabSize: 5, blockSize: 3, nLayer: 2, nHead: 2, nEmbd: 4, dropout: 0, bias: bias)
        let model = GPT(config: config, seed: nil, trainable: false)
        let arena = model.parameterArena
        for i in 0..<arena.count { arena[i] = Float(i % modulo) }
        return model
    }

    func floats(_ data: Data, from: Int) -> [Float] {
        data.withUnsafeBytes { raw in
            (0..<((data.count - from) / 4)).map { i -> Float in
                let bits = raw.loadUnaligned(fromByteOffset: from + 4 * i, as: UInt32.self)
                return Float(bitPattern: UInt32(littleEndian: bits))
            }
        }
    }

    func testLLMCHeaderAndLayoutByteForByte() throws {
        let model = indexedModel()
        let url = dir.appendingPathComponent("model.bin")
        try LLMCModelFile.write(model.config, parameters: model.parameters, to: url)
        let data = try Data(contentsOf: url)
        let header = data.withUnsafeBytes { raw in
            (0..<256).map { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) }
        }
        XCTAssertEqual(Array(header[0..<8]), [20240326, 3, 3, 5, 2, 2, 4, 128])
        XCTAssertEqual(header[8...].filter { $0 != 0 }, [])
        let body = floats(data, from: 1024)
        let (C, L, V, Vp, T) = (4, 2, 5, 128, 3)
        XCTAssertEqual(body.count, Vp * C + T * C + L * (12 * C * C + 13 * C) + 2 * C)
        func ours(_ name: String) -> [Float] { model.arena[name].array }
        var expected = ours("transformer.wte.weight") + [Float](repeating: 0, count: (Vp - V) * C)
            + ours("transformer.wpe.weight")
        for suffix in ["ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
                       "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
                       "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"] {
            for l in 0..<L { expected += ours("transformer.h.\(l).\(suffix)") }
        }
        expected += ours("transformer.ln_f.weight") + ours("transformer.ln_f.bias")
        XCTAssertEqual(body, expected)

        let back = try LLMCModelFile.read(url)
        XCTAssertEqual(back.header, LLMCModelFile.Header(version: 3, maxT: 3, V: 5, L: 2, NH: 2, C: 4, Vp: 128))
        assertBitwiseEqual(model, back.model)
    }

    func testLLMCBFloat16FileReadsAndBiasFreeModelWritesZeros() throws {
        let model = indexedModel(bias: false, modulo: 256)
        let url = dir.appendingPathComponent("model.bin")
        try LLMCModelFile.write(model.config, parameters: model.parameters, to: url)
        // Version 5: the same values (small integers, exact in bfloat16) as the top half of each float.
        let data = try Data(contentsOf: url)
        var bf = Data(data.prefix(1024))
        bf[4] = 5
        for v in floats(data, from: 1024) {
            withUnsafeBytes(of: UInt16(v.bitPattern >> 16).littleEndian) { bf.append(contentsOf: $0) }
        }
        let bfURL = dir.appendingPathComponent("model-bf16.bin")
        try bf.write(to: bfURL)
        let back = try LLMCModelFile.read(bfURL)
        XCTAssertEqual(back.header.version, 5)
        for p in model.parameters { XCTAssertEqual(back.model.arena[p.name].array, p.tensor.array, p.name) }
        XCTAssertEqual(back.model.arena["transformer.h.0.attn.c_attn.bias"].array, [Float](repeating: 0, count: 12))
    }

    func testLLMCBadFilesAreRefused() throws {
        let model = indexedModel()
        let url = dir.appendingPathComponent("model.bin")
        try LLMCModelFile.write(model.config, parameters: model.parameters, to: url)
        let good = try Data(contentsOf: url)
        func refusal(_ bytes: Data) throws -> String {
            try bytes.write(to: url)
            return message { _ = try LLMCModelFile.read(url) }
        }
        XCTAssertTrue(try refusal(good.prefix(good.count - 4)).contains("header describes"))
        XCTAssertTrue(try refusal(good.prefix(100)).contains("shorter than llm.c's 1024-byte header"))
        var bad = good; bad[0] = 1
        XCTAssertTrue(try refusal(bad).contains("header[0] (magic)"))
        bad = good; bad[4] = 4
        XCTAssertTrue(try refusal(bad).contains("header[1] (version) is 4"))
        bad = good; bad[4 * 7] = 2  // Vp 2 < V 5
        XCTAssertTrue(try refusal(bad).contains("header[7] (Vp)"))
        bad = good; bad[4 * 6 + 3] = 0x7F  // C huge
        XCTAssertTrue(try refusal(bad).contains("header[6] (C)"))
        // L = 8388607: sizes checked against the file
        bad = good; bad[4 * 4] = 0xFF; bad[4 * 4 + 1] = 0xFF; bad[4 * 4 + 2] = 0x7F
        XCTAssertTrue(try refusal(bad).contains("header describes"))
    }

    func testLLMCTokenizerFileRoundTrip() throws {
        let folder = Self.interop.appendingPathComponent("gpt2-tiny")
        let tok = try XCTUnwrap(HuggingFaceTokenizerFiles.read(folder: folder))
        let data = try LLMCTokenizerFile.encode(tok)
        let header = data.withUnsafeBytes { raw in
            (0..<4).map { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) }
        }
        XCTAssertEqual(header, [20240328, 2, 301, 300])
        XCTAssertEqual(data[1024], 1)                                 // token 0 is one byte:
        XCTAssertEqual(data[1025], UInt8(ascii: "!"))                 // "!", GPT-2's first token
        let url = dir.appendingPathComponent("tokenizer.bin")
        try data.write(to: url)
        let (tokens, eot) = try LLMCTokenizerFile.read(url)
        XCTAssertEqual(tokens.count, 301)
        XCTAssertEqual(tokens[300], Array("<|endoftext|>".utf8))
        XCTAssertEqual(eot, 300)
        XCTAssertNoThrow(try LLMCTokenizerFile.check(url, against: tok))
        let m = message { try LLMCTokenizerFile.check(url, against: CharTokenizer(corpus: "abc")) }
        XCTAssertTrue(m.contains("301 tokens, but the tokenizer has 3"), m)
        try data.prefix(data.count - 30).write(to: url)
        XCTAssertTrue(message { _ = try LLMCTokenizerFile.read(url) }.contains("running past the end"))
    }
}
