import XCTest
import NN

/// GPT.sizeProblem and GPT.trainingMemory: sizes from configs and checkpoints are checked in Double
/// before any Int product is formed, and the memory accounting is GPTCost's and GPTActivations'.
final class GPTSizeTests: XCTestCase {
    /// The tiny config T: 2 layers, 32 wide, context 32.
    func tiny(_ change: (inout GPTConfig) -> Void = { _ in }) -> GPTConfig {
        var c = GPTConfig(vocabSize: 65, blockSize: 32, nLayer: 2, nHead: 2, nEmbd: 32)
        change(&c)
        return c
    }

    func testOrdinaryModelsFit() {
        XCTAssertNil(GPT.sizeProblem(GPTConfig(), batch: 12, time: 1024))   // GPT-2 124M
        XCTAssertNil(GPT.sizeProblem(tiny(), batch: 12, time: 32))
        XCTAssertNil(GPT.sizeProblem(tiny { $0.blockSize = 100_000 }, batch: 12, time: 100_000))
        XCTAssertNil(GPT.sizeProblem(tiny { $0.nEmbd = 1_000_000; $0.nHead = 1 }, batch: 12, time: 32))
    }

    func testHugeSizesNameTheirKeysOnOneLine() {
        let layers = GPT.sizeProblem(tiny { $0.nLayer = 4611686018427387904 }, batch: 12, time: 32)
        XCTAssertTrue(layers?.contains("× n_layer × n_embd (the blocks' activations) comes to 1.37e+24") == true,
                      layers ?? "nil")
        let weights = GPT.sizeProblem(tiny { $0.nLayer = 4611686018427387904 }, batch: 1, time: 1)
        XCTAssertTrue(weights?.contains("n_layer × 12·n_embd² (the blocks' weights)") == true, weights ?? "nil")
        let context = GPT.sizeProblem(tiny { $0.blockSize = 1_000_000_000 }, batch: 12, time: 1_000_000_000)
        XCTAssertTrue(context?.contains("block_size²") == true, context ?? "nil")
        let width = GPT.sizeProblem(tiny { $0.nEmbd = 4611686018427387904; $0.nHead = 1 }, batch: 1, time: 32)
        XCTAssertTrue(width?.contains("n_embd") == true, width ?? "nil")
        let vocab = GPT.sizeProblem(tiny { $0.vocabSize = Int.max }, batch: 1, time: 32)
        XCTAssertTrue(vocab?.contains("vocab_size") == true, vocab ?? "nil")
        for m in [layers, context, width, vocab] { XCTAssertFalse(m?.contains("\n") ?? true) }
    }

    /// parameterSplit scales one block's parameters instead of listing a million blocks.
    func testParameterSplitOfManyLayersIsTheListedCount() {
        for layers in [1, 2, 3, 7] {
            let c = tiny { $0.nLayer = layers }
            XCTAssertEqual(GPT.parameterSplit(c).total, GPT.parameterSpecs(c).reduce(0) { $0 + $1.count })
        }
        let million = tiny { $0.nLayer = 1_000_000 }
        let one = GPT.parameterSplit(tiny { $0.nLayer = 1 }).blocks
        XCTAssertEqual(GPT.parameterSplit(million).blocks, 1_000_000 * one)
    }

    func testTrainingMemoryIsTheParametersFourTimesPlusActivations() {
        let c = tiny { $0.dropout = 0.1 }
        let m = GPT.trainingMemory(c, batch: 4, time: 32)
        let n = GPT.parameterCount(c) * 4
        let a = GPT.savedActivations(c, batch: 4, time: 32)
        XCTAssertEqual(m.parameters, n)
        XCTAssertEqual(m.gradients, n)
        XCTAssertEqual(m.adamMoments, 2 * n)
        XCTAssertEqual(m.activations, a.bytes)
        XCTAssertEqual(m.logitsGradient, a.logits * 4)
        XCTAssertEqual(m.total, 4 * n + a.bytes + a.logits * 4)
    }

    /// `sample --max-new-tokens 1000000000000` must not reserve terabytes before its first token.
    func testGenerateWithAnAbsurdTokenBudgetStreamsWithoutReserving() throws {
        let model = GPT(config: tiny(), seed: 1)
        var sampler = Sampler(options: SamplingOptions(temperature: 1, topK: nil, topP: nil), seed: 3)
        var seen = 0
        let out = try model.generate(prompt: [1], maxNewTokens: 1_000_000_000_000, sampler: &sampler) { _ in
            seen += 1
            return seen < 40
        }
        XCTAssertEqual(out.count, 40)
    }
}
