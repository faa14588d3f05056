// Reading a Hugging Face GPT-2 folder (transformers' GPT2LMHeadModel or GPT2Model, save_pretrained)
// into our GPT. The architecture is the same (pre-norm blocks, tanh GELU, LayerNorm eps 1e-5, tied
// head), so this is a mapping with checks:
//   config.json            model_type "gpt2"; variants we do not implement are refused by key
//   model.safetensors      or model.safetensors.index.json + its shards; F32, F16 or BF16 (→ Float)
//   keys                   "transformer.h.0.attn.c_attn.weight" or "h.0.attn.c_attn.weight"
//   Conv1D weights         c_attn, attn.c_proj, c_fc, mlp.c_proj are stored [in, out]: transposed here
//   attn.bias, masked_bias causal-mask buffers of older saves: skipped
//   lm_head.weight         accepted only when equal to wte (we tie the head), even when config.json
//                          says tie_word_embeddings false
//   "tinygpt": {"bias": false}  our export of a bias-free model: its zero biases are dropped again
// Every shape is checked against the file before any memory is allocated for the model.
import Autograd
import Foundation
import Kernels
import NN

public enum HuggingFaceGPT2 {
    public static let configFile = "config.json"
    public static let weightsFile = "model.safetensors"
    public static let indexFile = "model.safetensors.index.json"
    /// config.json's object of TinyGPT-only settings: {"bias": false} for a model exported without biases.
    public static let tinygptKey = "tinygpt"

    /// A model read from a folder, with what it came from.
    public struct Imported {
        public let model: GPT
        /// The weights' dtype(s) in the file, e.g. "F32" or "BF16".
        public let dtypes: [String]
        /// The safetensors files read, relative to the folder.
        public let files: [String]
    }

    // MARK: config.json

    /// The model shape of `folder/config.json`, refusing GPT-2 variants we do not implement.
    public static func readConfig(folder: URL) throws -> GPTConfig { try readConfigFile(folder: folder).config }

    /// The model shape and whether config.json ties the head to wte (tie_word_embeddings, default true).
    static func readConfigFile(folder: URL) throws -> (config: GPTConfig, tied: Bool) {
        let url = folder.appendingPathComponent(configFile)
        let path = url.path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CheckpointError("\(path): no such file (a Hugging Face model folder has config.json)")
        }
        guard let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw CheckpointError("\(path): not a JSON object")
        }
        func fail(_ key: String, _ what: String) -> CheckpointError { CheckpointError("\(path): \(key): \(what)") }
        guard let type = o["model_type"] as? String else { throw fail("model_type", "missing (expected \"gpt2\")") }
        guard type == "gpt2" else { throw fail("model_type", "is \"\(type)\"; only \"gpt2\" models can be imported") }
        func int(_ key: String, default d: Int? = nil) throws -> Int {
            guard let v = o[key], !(v is NSNull) else {
                if let d { return d }
                throw fail(key, "missing (expected a positive integer)")
            }
            guard let n = v as? NSNumber,
                  ["i", "q", "l", "s", "I", "Q", "L", "S"].contains(String(cString: n.objCType)),
                  let i = Int(exactly: n.int64Value), i > 0, i <= 1 << 24 else {
                throw fail(key, "is \(v); expected a positive integer up to \(1 << 24)")
            }
            return i
        }
        func flag(_ key: String, expected: Bool) throws {
            guard let v = o[key], !(v is NSNull) else { return }
            guard let b = v as? Bool, b == expected else {
                throw fail(key, "is \(v); TinyGPT implements GPT-2 with \(key) = \(expected) only")
            }
        }
        let vocab = try int("vocab_size"), positions = try int("n_positions", default: try int("n_ctx", default: 1024))
        let embd = try int("n_embd"), layers = try int("n_layer"), heads = try int("n_head")
        if let a = o["activation_function"], !(a is NSNull) {
            guard let s = a as? String, s == "gelu_new" || s == "gelu_pytorch_tanh" else {
                throw fail("activation_function", "is \(a); expected \"gelu_new\" (GELU, tanh approximation)")
            }
        }
        if let inner = o["n_inner"], !(inner is NSNull) {
            guard let n = inner as? Int, n == 4 * embd else {
                throw fail("n_inner", "is \(inner); expected null or 4·n_embd = \(4 * embd)")
            }
        }
        if let e = o["layer_norm_epsilon"], !(e is NSNull) {
            guard let x = (e as? NSNumber)?.doubleValue, abs(x - 1e-5) <= 1e-12 else {
                throw fail("layer_norm_epsilon", "is \(e); expected 1e-05")
            }
        }
        try flag("scale_attn_weights", expected: true)
        try flag("scale_attn_by_inverse_layer_idx", expected: false)
        try flag("reorder_and_upcast_attn", expected: false)
        try flag("add_cross_attention", expected: false)
        var tied = true
        if let t = o["tie_word_embeddings"], !(t is NSNull) {
            guard let b = t as? Bool else { throw fail("tie_word_embeddings", "is \(t); expected true or false") }
            tied = b
        }
        var bias = true
        if let extra = o[tinygptKey] {
            guard let e = extra as? [String: Any], e.keys.allSatisfy({ $0 == "bias" }),
                  e["bias"] == nil || e["bias"] is Bool else {
                throw fail(tinygptKey, "is \(extra); expected {\"bias\": false} or {\"bias\": true}")
            }
            bias = (e["bias"] as? Bool) ?? true
        }
        let config = GPTConfig(vocabSize: vocab, blockSize: positions, nLayer: layers, nHead: heads, nEmbd: embd,
                               dropout: 0, bias: bias)
        do { try config.validate() } catch { throw CheckpointError("\(path): \(error)") }
        return (config, tied)
    }

    // MARK: weights

    /// Whether our parameter `name` is one of the four Conv1D weights HF stores as [in, out].
    static func isConv1DWeight(_ name: String) -> Bool {
        name.hasSuffix(".attn.c_attn.weight") || name.hasSuffix(".attn.c_proj.weight")
            || name.hasSuffix(".mlp.c_fc.weight") || name.hasSuffix(".mlp.c_proj.weight")
    }

    /// The tensors of a folder: one model.safetensors, or the shards an index names.
    struct TensorSet {
        var files: [SafeTensorsFile] = []
        /// Canonical name (without "transformer.") → (file, entry).
        var tensors: [String: (file: SafeTensorsFile, entry: SafeTensorsFile.Entry)] = [:]

        mutating func add(_ file: SafeTensorsFile, only names: Set<String>? = nil) throws {
            files.append(file)
            for e in file.entries where names?.contains(e.name) ?? true {
                let canonical = e.name.hasPrefix("transformer.") ? String(e.name.dropFirst(12)) : e.name
                if let other = tensors[canonical] {
                    throw CheckpointError("\(file.url.path): \(e.name): appears twice (also as \(other.entry.name) " +
                            "in \(other.file.url.lastPathComponent))")
                }
                tensors[canonical] = (file, e)
            }
        }
    }

    static func openTensors(folder: URL) throws -> TensorSet {
        let fm = FileManager.default
        var set = TensorSet()
        let single = folder.appendingPathComponent(weightsFile)
        let index = folder.appendingPathComponent(indexFile)
        if fm.fileExists(atPath: single.path) {
            try set.add(SafeTensorsFile(contentsOf: single))
            return set
        }
        if fm.fileExists(atPath: index.path) {
            guard let data = fm.contents(atPath: index.path),
                  let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                throw CheckpointError("\(index.path): not a JSON object")
            }
            guard let map = o["weight_map"] as? [String: String] else {
                throw CheckpointError("\(index.path): weight_map: missing or not an object of tensor name " +
                        "→ shard file")
            }
            var byShard: [String: Set<String>] = [:]
            for (tensor, shard) in map { byShard[shard, default: []].insert(tensor) }
            for (shard, names) in byShard.sorted(by: { $0.key < $1.key }) {
                guard !shard.isEmpty, !shard.contains("/"), shard != "..", shard != "." else {
                    throw CheckpointError("\(index.path): weight_map: shard \"\(shard)\" is not a file name in this " +
                            "folder")
                }
                let file = try SafeTensorsFile(contentsOf: folder.appendingPathComponent(shard))
                for n in names.sorted() where file.entry(n) == nil {
                    throw CheckpointError("\(file.url.path): \(n): missing (\(indexFile) places it in this shard)")
                }
                try set.add(file, only: names)
            }
            return set
        }
        for other in ["pytorch_model.bin", "pytorch_model.bin.index.json", "tf_model.h5", "flax_model.msgpack"]
        where fm.fileExists(atPath: folder.appendingPathComponent(other).path) {
            throw CheckpointError("\(folder.appendingPathComponent(other).path): only safetensors weights can be " +
                    "imported; "
                                  + "load the model in transformers and save it with model.save_pretrained(folder, " +
                                          "safe_serialization=True)")
        }
        throw CheckpointError("\(folder.path): no \(weightsFile) or \(indexFile) here")
    }

    /// Reads the folder's config and weights into a new (inference-only) GPT. Nothing is allocated for
    /// the model until every tensor's name, dtype and shape have been checked.
    public static func load(folder: URL, trainable: Bool = false) throws -> Imported {
        guard FileSystem.isDirectory(folder.path) else {
            throw CheckpointError("\(folder.path): not a directory (expected a Hugging Face model folder)")
        }
        let (config, tied) = try readConfigFile(folder: folder)
        var set = try openTensors(folder: folder)
        // n_layer bounds the spec list below; a config claiming more blocks than the files hold fails here.
        let lastBlock = "h.\(config.nLayer - 1).ln_1.weight"
        guard set.tensors[lastBlock] != nil else {
            throw CheckpointError("\(folder.appendingPathComponent(configFile).path): n_layer: is \(config.nLayer) " +
                    "but the weights have no \(lastBlock)")
        }
        var withBias = config
        withBias.bias = true
        let specs = GPT.parameterSpecs(withBias)
        var plan: [(spec: ParameterSpec, file: SafeTensorsFile, entry: SafeTensorsFile.Entry, transpose: Bool)] = []
        for spec in specs {
            let canonical = String(spec.name.dropFirst(12))  // our names all start with "transformer."
            guard let (file, e) = set.tensors.removeValue(forKey: canonical) else {
                throw CheckpointError("\(set.files.first!.url.path): \(canonical): missing (config.json describes a " +
                        "model that has it)")
            }
            let transpose = isConv1DWeight(spec.name)
            let expected = transpose ? [spec.shape[1], spec.shape[0]] : spec.shape
            guard e.shape == expected else {
                let also = transpose ? " (Conv1D's [in, out], the transpose of ours)" : ""
                throw CheckpointError("\(file.url.path): \(e.name): shape \(e.shape) expected \(expected)\(also)")
            }
            guard SafeTensorsFile.floatDtypes.contains(e.dtype) else {
                throw CheckpointError("\(file.url.path): \(e.name): dtype \(e.dtype); expected F32, F16 or BF16")
            }
            plan.append((spec, file, e, transpose))
        }
        // A bias-free export: its biases must all be zero, and are dropped.
        var zeroChecks: [(file: SafeTensorsFile, entry: SafeTensorsFile.Entry)] = []
        if !config.bias {
            zeroChecks = plan.filter { $0.spec.name.hasSuffix(".bias") }.map { ($0.file, $0.entry) }
            plan.removeAll { $0.spec.name.hasSuffix(".bias") }
        }
        var head: (file: SafeTensorsFile, entry: SafeTensorsFile.Entry)?
        for (name, (file, e)) in set.tensors.sorted(by: { $0.key < $1.key }) {
            if name.hasSuffix(".attn.bias") || name.hasSuffix(".attn.masked_bias") { continue }
            if name == "lm_head.weight" { head = (file, e); continue }
            throw CheckpointError("\(file.url.path): \(e.name): unexpected tensor (not part of GPT-2's language model)")
        }

        for (file, e) in zeroChecks {
            let t = Tensor(uninitialized: e.shape)
            file.readFloats(e, into: t.data)
            guard (0..<t.count).allSatisfy({ t.data[$0] == 0 }) else {
                throw CheckpointError("\(file.url.path): \(e.name): not zero, but config.json says " +
                        "\(tinygptKey).bias is false")
            }
        }
        if !tied && head == nil {
            throw CheckpointError("\(folder.appendingPathComponent(configFile).path): tie_word_embeddings: is false " +
                    "but the weights have no lm_head.weight (TinyGPT ties the head to wte)")
        }
        let model = GPT(config: config, seed: nil, trainable: trainable)
        let parameters = model.parameters
        for (p, item) in zip(parameters, plan) { precondition(p.name == item.spec.name) }
        // Two halves of near-equal bytes, converted on two threads (a 124M model: 0.5 s instead of 1).
        let items = plan, halves = splitBySize(plan.map { $0.entry.count })
        Parallel.forRanges(2, minWork: 0) { range in
            for half in range {
                for i in halves[half] {
                    items[i].file.readFloats(items[i].entry, into: parameters[i].tensor.data,
                                             transposing: items[i].transpose)
                }
            }
        }
        if let (file, e) = head {
            guard e.shape == model.wte.shape, SafeTensorsFile.floatDtypes.contains(e.dtype) else {
                throw CheckpointError("\(file.url.path): \(e.name): shape \(e.shape) \(e.dtype) expected " +
                        "\(model.wte.shape) like wte (tied head)")
            }
            let h = Tensor(uninitialized: e.shape)
            file.readFloats(e, into: h.data)
            for i in 0..<h.count where h.data[i].bitPattern != model.wte.data[i].bitPattern {
                throw CheckpointError("\(file.url.path): \(e.name): differs from wte.weight (an untied output head; " +
                        "TinyGPT ties the head to the token embedding)")
            }
        }
        let dtypes = Array(Set(plan.map(\.entry.dtype))).sorted()
        let files = set.files.map { $0.url.lastPathComponent }
        return Imported(model: model, dtypes: dtypes, files: files)
    }
}

/// Indices 0..<sizes.count dealt into two groups of near-equal total size (largest first, each to the
/// lighter group), so two threads finish together.
func splitBySize(_ sizes: [Int]) -> [[Int]] {
    var groups: [[Int]] = [[], []], totals = [0, 0]
    for i in sizes.indices.sorted(by: { sizes[$0] > sizes[$1] }) {
        let g = totals[0] <= totals[1] ? 0 : 1
        groups[g].append(i)
        totals[g] += sizes[i]
    }
    return groups
}

