// Writing our GPT as a Hugging Face GPT2LMHeadModel folder (what save_pretrained writes):
//   config.json             GPT2Config for our shape (gelu_new, LayerNorm eps 1e-5, tied head)
//   generation_config.json  end-of-text as bos/eos when the tokenizer has one
//   model.safetensors       "transformer.*" keys, F32; Conv1D weights (c_attn, attn.c_proj, c_fc,
//                           mlp.c_proj) transposed to [in, out]; no lm_head.weight (tied, as
//                           save_pretrained drops it); zero biases for a model trained without biases,
//                           which computes exactly the same function (config.json then says
//                           "tinygpt": {"bias": false}, so that import gives back the bias-free model)
// Tokenizer files come from Data's HuggingFaceTokenizerFiles.
import Autograd
import Foundation
import NN

public enum HuggingFaceExport {
    public static let generationConfigFile = "generation_config.json"

    /// config.json for `config`; `eot` becomes bos/eos_token_id.
    public static func configObject(_ config: GPTConfig, eot: Int32?) -> [String: Any] {
        let drop = Double(config.dropout)
        var o: [String: Any] = [
            "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
            "vocab_size": config.vocabSize, "n_positions": config.blockSize, "n_embd": config.nEmbd,
            "n_layer": config.nLayer, "n_head": config.nHead, "n_inner": NSNull(),
            "layer_norm_epsilon": 1e-5, "initializer_range": 0.02,
            "attn_pdrop": drop, "embd_pdrop": drop, "resid_pdrop": drop,
            "scale_attn_weights": true, "scale_attn_by_inverse_layer_idx": false, "reorder_and_upcast_attn": false,
            "tie_word_embeddings": true, "use_cache": true, "dtype": "float32",
        ]
        // Kept by transformers as an extra config attribute; tells our import to drop the zero biases again.
        if !config.bias { o[HuggingFaceGPT2.tinygptKey] = ["bias": false] }
        o["bos_token_id"] = eot.map { Int($0) } ?? NSNull()
        o["eos_token_id"] = eot.map { Int($0) } ?? NSNull()
        return o
    }

    /// The tensors GPT2LMHeadModel's save_pretrained writes for `config`, in name order, taken from
    /// `parameters` (our names and layout); biases absent from a bias-free model are zeros.
    public static func tensors(_ config: GPTConfig,
                               parameters: [NamedParameter]) throws -> [(name: String, tensor: Tensor)] {
        var withBias = config
        withBias.bias = true
        let ours = Dictionary(parameters.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        var out: [(name: String, tensor: Tensor)] = []
        for spec in GPT.parameterSpecs(withBias) {
            let source: Tensor
            if let t = ours[spec.name] {
                guard t.shape == spec.shape else {
                    throw CheckpointError("\(spec.name): shape \(t.shape) expected \(spec.shape)")
                }
                source = t
            } else if spec.name.hasSuffix(".bias") && !config.bias {
                source = Tensor(zeros: spec.shape)
            } else {
                throw CheckpointError("\(spec.name): missing from the model")
            }
            if HuggingFaceGPT2.isConv1DWeight(spec.name) {
                let (rows, cols) = (spec.shape[0], spec.shape[1])  // ours (out, in) → HF (in, out)
                let t = Tensor(uninitialized: [cols, rows])
                transposeMatrix(source.data, rows: rows, cols: cols, into: t.data)
                out.append((spec.name, t))
            } else {
                out.append((spec.name, source))
            }
        }
        return out.sorted { $0.name < $1.name }
    }

    /// Writes config.json, generation_config.json and model.safetensors into `directory`.
    public static func write(_ config: GPTConfig, parameters: [NamedParameter], eot: Int32?, to directory: URL) throws {
        func json(_ o: Any) throws -> Foundation.Data {
            try JSONSerialization.data(withJSONObject: o,
                                       options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        }
        try AtomicDirectory.writeFile(json(configObject(config, eot: eot)), named: HuggingFaceGPT2.configFile,
                                      in: directory)
        var generation: [String: Any] = ["_from_model_config": true]
        if let eot { generation["bos_token_id"] = Int(eot); generation["eos_token_id"] = Int(eot) }
        try AtomicDirectory.writeFile(json(generation), named: generationConfigFile, in: directory)
        try SafeTensors.write(tensors(config, parameters: parameters), metadata: ["format": "pt"],
                              to: directory.appendingPathComponent(HuggingFaceGPT2.weightsFile))
    }
}
