// Hugging Face GPT-2 import against transformers: the fixtures in Tests/Fixtures/interop were written
// by scripts/make_interop_fixtures.py (seed 1337), each folder beside the logits GPT2LMHeadModel gives
// on fixed ids. Also every refusal: config variants, missing or misshapen tensors, untied heads,
// pickle-only folders, truncated or lying safetensors files.
import XCTest
import Autograd
import Checkpoint
import Data
import Kernels
import NN
import TestSupport

final class HuggingFaceImportTests: XCTestCase {
    static let interop = Fixtures.directory.appendingPathComponent("interop")
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("hf-import-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    /// Our logits on the fixture's ids against transformers' (float32 on the same rounded weights).
    func checkLogits(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let imported = try HuggingFaceGPT2.load(folder: Self.interop.appendingPathComponent(name))
        let ref = try SafeTensorsFile(contentsOf: Self.interop.appendingPathComponent(name + ".logits.safetensors"))
        let ids = try ref.integers("ids").map { Int32($0) }
        let shape = ref.entry("ids")!.shape
        var rng = RandomGenerator(seed: 0)
        let logits = imported.model.forward(ids, batch: shape[0], time: shape[1], training: false, rng: &rng)
        let expected = try ref.tensor("logits")
        XCTAssertEqual(logits.shape, expected.shape, file: file, line: line)
        let r = compareClose(logits.array, expected.array, rtol: 0, atol: 1e-5, name: "\(name) logits")
        XCTAssertTrue(r.ok, r.message, file: file, line: line)
    }

    func testFloat32LogitsMatchTransformers() throws { try checkLogits("gpt2-tiny") }
    func testFloat16WithoutPrefixLogitsMatchTransformers() throws { try checkLogits("gpt2-tiny-fp16") }
    func testBFloat16ShardedLogitsMatchTransformers() throws { try checkLogits("gpt2-tiny-bf16-sharded") }

    func testImportRecordsDtypesAndShards() throws {
        let sharded = try HuggingFaceGPT2.load(folder: Self.interop.appendingPathComponent("gpt2-tiny-bf16-sharded"))
        XCTAssertEqual(sharded.dtypes, ["BF16"])
        XCTAssertEqual(sharded.files.count, 2)
        let fp16 = Self.interop.appendingPathComponent("gpt2-tiny-fp16")
        XCTAssertEqual(try HuggingFaceGPT2.load(folder: fp16).dtypes, ["F16"])
    }

    func testTokenizerGivesTransformersIds() throws {
        let folder = Self.interop.appendingPathComponent("gpt2-tiny")
        let tok = try XCTUnwrap(HuggingFaceTokenizerFiles.read(folder: folder) as? BytePairTokenizer)
        let ref = try SafeTensorsFile(contentsOf: Self.interop.appendingPathComponent("gpt2-tiny.logits.safetensors"))
        let text = String(decoding: try ref.integers("tokenizer_text").map { UInt8($0) }, as: UTF8.self)
        let expected = try ref.integers("tokenizer_ids").map { Int32($0) }
        XCTAssertEqual(tok.vocabSize, 301)
        XCTAssertEqual(tok.eotToken, 300)
        XCTAssertEqual(tok.encode(text, allowedSpecial: [BytePairTokenizer.endOfText]), expected)
        XCTAssertEqual(tok.decode(expected), text)
    }

    // MARK: refusals

    /// A copy of the fp32 fixture folder, with config.json edited by `edit`.
    func copy(_ name: String = "gpt2-tiny", edit: ((inout [String: Any]) -> Void)? = nil) throws -> URL {
        let to = dir.appendingPathComponent(UUID().uuidString)
        try FileManager.default.copyItem(at: Self.interop.appendingPathComponent(name), to: to)
        if let edit {
            let url = to.appendingPathComponent("config.json")
            var o = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
            edit(&o)
            try JSONSerialization.data(withJSONObject: o).write(to: url)
        }
        return to
    }

    func refusal(_ folder: URL) -> String { message { _ = try HuggingFaceGPT2.load(folder: folder) } }

    func testUnsupportedConfigVariantsAreRefusedByKey() throws {
        let cases: [(String, Any, String)] = [
            ("model_type", "gpt_neo", "model_type: is \"gpt_neo\""),
            ("activation_function", "relu", "activation_function: is relu"),
            ("n_inner", 100, "n_inner: is 100; expected null or 4·n_embd = 128"),
            ("layer_norm_epsilon", 1e-6, "layer_norm_epsilon"),
            ("scale_attn_by_inverse_layer_idx", true, "scale_attn_by_inverse_layer_idx"),
            ("reorder_and_upcast_attn", true, "reorder_and_upcast_attn"),
            ("scale_attn_weights", false, "scale_attn_weights"),
            ("tie_word_embeddings", false, "tie_word_embeddings"),
            ("n_embd", 30, "n_embd (30) must be divisible by n_head (4)"),
            ("n_layer", -1, "n_layer: is -1"),
            ("tinygpt", ["bias": false], "transformer.h.0.ln_1.bias: not zero, but config.json says tinygpt.bias is " +
                    "false"),
            ("tinygpt", ["dropout": 0.1], "tinygpt: is"),
        ]
        for (key, value, expected) in cases {
            let folder = try copy { $0[key] = value }
            let m = refusal(folder)
            XCTAssertTrue(m.contains(expected) && m.contains("config.json"), "\(key): \(m)")
        }
        let folder = try copy { $0["n_inner"] = 128; $0["activation_function"] = "gelu_pytorch_tanh" }
        XCTAssertNoThrow(try HuggingFaceGPT2.load(folder: folder))
    }

    func testMoreLayersThanTheWeightsHoldIsRefused() throws {
        let m = refusal(try copy { $0["n_layer"] = 100000 })
        XCTAssertTrue(m.contains("n_layer: is 100000 but the weights have no h.99999.ln_1.weight"), m)
    }

    func testPickleOnlyFolderSaysToSaveAsSafetensors() throws {
        let folder = try copy()
        try FileManager.default.removeItem(at: folder.appendingPathComponent("model.safetensors"))
        try Data([0x80, 0x02]).write(to: folder.appendingPathComponent("pytorch_model.bin"))
        let m = refusal(folder)
        XCTAssertTrue(m.contains("pytorch_model.bin") && m.contains("safe_serialization=True"), m)
    }

    /// The fixture's tensors as F32 Tensors by file name, to rewrite.
    func fixtureTensors() throws -> [(name: String, tensor: Tensor)] {
        let f = try SafeTensorsFile(contentsOf: Self.interop.appendingPathComponent("gpt2-tiny/model.safetensors"))
        return try f.entries.map { ($0.name, try f.tensor($0.name)) }
    }

    func rewrite(_ folder: URL, _ tensors: [(name: String, tensor: Tensor)]) throws {
        try SafeTensors.write(tensors, metadata: ["format": "pt"],
                              to: folder.appendingPathComponent("model.safetensors"))
    }

    func testMisshapenConv1DWeightNamesTensorAndBothShapes() throws {
        let folder = try copy()
        let tensors = try fixtureTensors().map { e -> (name: String, tensor: Tensor) in
            guard e.name == "transformer.h.1.mlp.c_fc.weight" else { return e }
            return (e.name, Tensor(zeros: [128, 32]))  // our layout, not Conv1D's
        }
        try rewrite(folder, tensors)
        let m = refusal(folder)
        XCTAssertTrue(m.contains("transformer.h.1.mlp.c_fc.weight: shape [128, 32] expected [32, 128]"), m)
    }

    func testMissingAndUnexpectedTensorsAreNamed() throws {
        let folder = try copy()
        try rewrite(folder, try fixtureTensors().filter { $0.name != "transformer.ln_f.bias" })
        XCTAssertTrue(refusal(folder).contains("ln_f.bias: missing"), refusal(folder))
        try rewrite(folder, try fixtureTensors() + [("transformer.h.0.mlp.gate.weight", Tensor(zeros: [2]))])
        XCTAssertTrue(refusal(folder).contains("transformer.h.0.mlp.gate.weight: unexpected tensor"), refusal(folder))
    }

    func testTiedHeadAndMaskBuffersAreAcceptedUntiedHeadRefused() throws {
        let folder = try copy()
        let tensors = try fixtureTensors()
        let wte = tensors.first { $0.name == "transformer.wte.weight" }!.tensor
        let tied = Tensor(wte.array, shape: wte.shape)
        try rewrite(folder, tensors + [("lm_head.weight", tied),
                                       ("transformer.h.0.attn.bias", Tensor(zeros: [1, 1, 32, 32])),
                                       ("transformer.h.0.attn.masked_bias", Tensor(zeros: [1]))])
        XCTAssertNoThrow(try HuggingFaceGPT2.load(folder: folder))
        // Saved untied but equal to wte: accepted too.
        let untiedConfig = try copy { $0["tie_word_embeddings"] = false }
        try rewrite(untiedConfig, tensors + [("lm_head.weight", tied)])
        XCTAssertNoThrow(try HuggingFaceGPT2.load(folder: untiedConfig))
        tied.data[5] += 1
        try rewrite(folder, tensors + [("lm_head.weight", tied)])
        XCTAssertTrue(refusal(folder).contains("lm_head.weight: differs from wte.weight"), refusal(folder))
    }

    func testTruncatedAndLyingSafetensorsAreRefusedWithoutCrashing() throws {
        let folder = try copy()
        let url = folder.appendingPathComponent("model.safetensors")
        let bytes = try Data(contentsOf: url)
        try bytes.prefix(bytes.count - 10).write(to: url)
        XCTAssertTrue(refusal(folder).contains("model.safetensors"), refusal(folder))
        // A header claiming a huge tensor: refused by size before anything is allocated.
        let header = #"{"transformer.wte.weight":{"dtype":"F32","shape":[1000000000,1000000000],"data_offsets":[0,8]}}"#
        var lying = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Data($0) }
        lying.append(Data(header.utf8)); lying.append(Data(count: 8))
        try lying.write(to: url)
        XCTAssertTrue(refusal(folder).contains("span 8 bytes"), refusal(folder))
        try Data([1, 2, 3]).write(to: url)
        XCTAssertTrue(refusal(folder).contains("truncated safetensors file"), refusal(folder))
    }

    func testShardIndexNamingAFileOutsideTheFolderIsRefused() throws {
        let folder = try copy("gpt2-tiny-bf16-sharded")
        let url = folder.appendingPathComponent("model.safetensors.index.json")
        var o = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        var map = o["weight_map"] as! [String: String]
        map["transformer.wte.weight"] = "../model.safetensors"
        o["weight_map"] = map
        try JSONSerialization.data(withJSONObject: o).write(to: url)
        XCTAssertTrue(refusal(folder).contains("is not a file name in this folder"), refusal(folder))
    }

    func testAtomicDirectoryLeavesNothingOnFailureAndRefusesNonEmptyOutput() throws {
        let out = dir.appendingPathComponent("out")
        XCTAssertThrowsError(try AtomicDirectory.create(out) { d in
            try Data([1]).write(to: d.appendingPathComponent("partial"))
            throw CheckpointError("failed halfway")
        })
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
        try AtomicDirectory.create(out) { d in try Data([1]).write(to: d.appendingPathComponent("done")) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("done").path))
        let m = message { try AtomicDirectory.create(out) { _ in } }
        XCTAssertTrue(m.contains("exists and is not empty"), m)
        // An empty directory is replaced.
        let empty = dir.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: false)
        try AtomicDirectory.create(empty) { d in try Data([1]).write(to: d.appendingPathComponent("x")) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: empty.appendingPathComponent("x").path))
    }
}
