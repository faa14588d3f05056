import XCTest
import Autograd
import Kernels
import NN

/// Structure of the model: parameter names, order, decay flags, the arena layout and the GPT-2
/// initialisation.
final class GPTModelTests: XCTestCase {
    override func setUp() { Tape.current.reset() }

    /// A copy of the parameter arena; the buffer is only valid while the model lives.
    static func values(_ model: GPT) -> [Float] { withExtendedLifetime(model) { Array(model.parameterArena) } }

    static let tiny = GPTConfig(vocabSize: 17, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 32, dropout: 0, bias: true)

    func testGPT2SmallParameterCount() {
        // GPT-2 small with its real vocabulary: nanoGPT's get_num_params(non_embedding=False) and
        // Hugging Face's "gpt2" both give 124,439,808 (the tied head counted once).
        let config = GPTConfig(vocabSize: 50257, blockSize: 1024, nLayer: 12, nHead: 12, nEmbd: 768, bias: true)
        XCTAssertEqual(GPT.parameterCount(config), 124_439_808)
        let model = GPT(config: config, seed: nil, trainable: false)
        XCTAssertEqual(model.parameterCount, 124_439_808)
        XCTAssertEqual(model.parameters.reduce(0) { $0 + $1.tensor.count }, 124_439_808)
        XCTAssertEqual(model.parameterArena.count, 124_439_808)
        XCTAssertEqual(model.parameters.count, 2 + 12 * 12 + 2)
    }

    func testNamesOrderShapesAndDecayFlags() {
        let model = GPT(config: Self.tiny, seed: 1)
        var expected: [(String, [Int], Bool)] = [
            ("transformer.wte.weight", [17, 32], true), ("transformer.wpe.weight", [8, 32], true),
        ]
        for i in 0..<2 {
            let p = "transformer.h.\(i)."
            expected += [
                (p + "ln_1.weight", [32], false), (p + "ln_1.bias", [32], false),
                (p + "attn.c_attn.weight", [96, 32], true), (p + "attn.c_attn.bias", [96], false),
                (p + "attn.c_proj.weight", [32, 32], true), (p + "attn.c_proj.bias", [32], false),
                (p + "ln_2.weight", [32], false), (p + "ln_2.bias", [32], false),
                (p + "mlp.c_fc.weight", [128, 32], true), (p + "mlp.c_fc.bias", [128], false),
                (p + "mlp.c_proj.weight", [32, 128], true), (p + "mlp.c_proj.bias", [32], false),
            ]
        }
        expected += [("transformer.ln_f.weight", [32], false), ("transformer.ln_f.bias", [32], false)]
        XCTAssertEqual(model.parameters.map(\.name), expected.map(\.0))
        XCTAssertEqual(model.parameters.map(\.tensor.shape), expected.map(\.1))
        XCTAssertEqual(model.parameters.map(\.decays), expected.map(\.2))
        XCTAssertEqual(model.parameters.map(\.tensor.name), expected.map(\.0))
        XCTAssertTrue(model.parameters.allSatisfy(\.tensor.requiresGrad))
    }

    func testBiasFalseDropsLinearAndLayerNormBiases() {
        var config = Self.tiny
        config.bias = false
        let model = GPT(config: config, seed: 1)
        XCTAssertFalse(model.parameters.contains { $0.name.hasSuffix(".bias") })
        XCTAssertEqual(model.parameters.count, 2 + 2 * 6 + 1)
        // 17·32 + 8·32 + 2·(32 + 96·32 + 32·32 + 32 + 128·32 + 32·128) + 32
        XCTAssertEqual(model.parameterCount,
                       17 * 32 + 8 * 32 + 2 * (32 + 96 * 32 + 32 * 32 + 32 + 128 * 32 + 32 * 128) + 32)
        XCTAssertNil(model.blocks[0].ln1.bias)
        XCTAssertNil(model.blocks[0].attn.cAttn.bias)
    }

    func testParametersAndGradientsAreViewsIntoTwoPackedArenas() {
        let model = GPT(config: Self.tiny, seed: 3)
        let values = model.parameterArena, grads = model.gradientArena
        XCTAssertEqual(values.count, grads.count)
        var offset = 0
        for p in model.parameters {
            XCTAssertEqual(p.tensor.data, values.baseAddress! + offset, p.name)
            XCTAssertEqual(p.tensor.grad?.data, grads.baseAddress! + offset, p.name)
            XCTAssertEqual(p.tensor.grad?.shape, p.tensor.shape, p.name)
            offset += p.tensor.count
        }
        XCTAssertEqual(offset, values.count)

        // Gradients land in the arena; zeroGrad clears all of it and restores a dropped grad view.
        var rng = RandomGenerator(seed: 0)
        let ids: [Int32] = [1, 2, 3, 4, 5, 6, 7, 8]
        model.loss(ids, targets: ids.map { ($0 + 1) % 17 }, batch: 1, time: 8, training: false,
                   rng: &rng).loss.backward()
        XCTAssertGreaterThan((0..<grads.count).reduce(0) { $0 + abs(grads[$1]) }, 0)
        model.parameters[3].tensor.grad = nil
        model.zeroGrad()
        XCTAssertTrue((0..<grads.count).allSatisfy { grads[$0] == 0 })
        XCTAssertEqual(model.parameters[3].tensor.grad?.data, grads.baseAddress! + model.parameters[3].tensor.offset)

        let frozen = GPT(config: Self.tiny, seed: 3, trainable: false)
        XCTAssertTrue(frozen.parameters.allSatisfy { !$0.tensor.requiresGrad && $0.tensor.grad == nil })
        XCTAssertEqual(Self.values(frozen), Self.values(model), "same seed, same weights")
    }

    func testGPT2Initialisation() {
        let config = GPTConfig(vocabSize: 512, blockSize: 64, nLayer: 4, nHead: 4, nEmbd: 128, bias: true)
        let model = GPT(config: config, seed: 42)
        let residual = 0.02 / Double(2 * config.nLayer).squareRoot()
        for p in model.parameters {
            let x = p.tensor.array.map(Double.init)
            if p.name.hasSuffix("ln_1.weight") || p.name.hasSuffix("ln_2.weight") || p.name.hasSuffix("ln_f.weight") {
                XCTAssertTrue(x.allSatisfy { $0 == 1 }, p.name)
            } else if p.name.hasSuffix(".bias") {
                XCTAssertTrue(x.allSatisfy { $0 == 0 }, p.name)
            } else {
                let want = p.name.hasSuffix("c_proj.weight") ? residual : 0.02
                let n = Double(x.count)
                let mean = x.reduce(0, +) / n
                let std = (x.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / n).squareRoot()
                // Sample std of n normals has relative standard error ≈ 1/√(2n) (≤ 0.6% here): allow 4%.
                XCTAssertEqual(std, want, accuracy: 0.04 * want, p.name)
                XCTAssertEqual(mean, 0, accuracy: 5 * want / n.squareRoot(), p.name)
            }
        }
        // Different seeds give different weights; the same seed the same weights.
        XCTAssertEqual(Self.values(GPT(config: config, seed: 42)), Self.values(model))
        XCTAssertNotEqual(Self.values(GPT(config: config, seed: 43)), Self.values(model))
        // seed nil: weights zero, LayerNorm weights one (ready to be loaded).
        let blank = GPT(config: config, seed: nil)
        XCTAssertTrue(blank.wte.array.allSatisfy { $0 == 0 })
        XCTAssertTrue(blank.lnF.weight.array.allSatisfy { $0 == 1 })
    }
}
