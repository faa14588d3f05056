import Foundation
import XCTest
import Autograd
import Kernels
import NN

final class GPTCostTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The model keys of a training config file (the other keys are the trainer's).
    func modelConfig(_ relativePath: String) throws -> GPTConfig {
        let data = try Data(contentsOf: Self.root.appendingPathComponent(relativePath))
        let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return GPTConfig(vocabSize: o["vocab_size"] as! Int, blockSize: o["block_size"] as! Int,
                         nLayer: o["n_layer"] as! Int, nHead: o["n_head"] as! Int, nEmbd: o["n_embd"] as! Int,
                         dropout: Float(o["dropout"] as! Double), bias: o["bias"] as! Bool)
    }

    func testParameterSplitSumsToParameterCount() throws {
        let configs = [GPTConfig(vocabSize: 65, blockSize: 64, nLayer: 4, nHead: 4, nEmbd: 128, bias: false),
                       GPTConfig(vocabSize: 50257, blockSize: 1024, nLayer: 12, nHead: 12, nEmbd: 768, bias: true),
                       GPTConfig(vocabSize: 7, blockSize: 3, nLayer: 1, nHead: 1, nEmbd: 2, bias: true)]
        for c in configs {
            let s = GPT.parameterSplit(c)
            XCTAssertEqual(s.total, GPT.parameterCount(c), "\(c)")
            XCTAssertEqual(s.embedding, (c.vocabSize + c.blockSize) * c.nEmbd, "\(c)")
            XCTAssertEqual(s.head, (c.bias ? 2 : 1) * c.nEmbd, "ln_f of \(c)")
        }
    }

    /// GPT-2 small from configs/gpt2-124m.json, counted by hand: wte V·C = 50257·768 = 38,597,376;
    /// wpe 1024·768 = 786,432; a block (with biases) is ln_1 2C + c_attn 3C²+3C + c_proj C²+C + ln_2 2C
    /// + c_fc 4C²+4C + c_proj 4C²+C = 12C² + 13C = 7,087,872, twelve of them 85,054,464; ln_f 2C = 1,536.
    /// Total 124,439,808. nanoGPT's estimate then takes N = total − wpe = 123,653,376 and
    /// 6·N + 12·L·C·T = 741,920,256 + 113,246,208 = 855,166,464 FLOPs per token.
    func testFlopsPerTokenIsNanoGPTsEstimateForGPT2Small() throws {
        let c = try modelConfig("configs/gpt2-124m.json")
        let C = c.nEmbd, L = c.nLayer, T = c.blockSize, V = c.vocabSize
        let block = 12 * C * C + 13 * C
        let total = V * C + T * C + L * block + 2 * C
        XCTAssertEqual(total, 124_439_808)
        XCTAssertEqual(GPT.parameterCount(c), total)
        let n = total - T * C
        XCTAssertEqual(c.flopsPerToken, 6 * Double(n) + 12 * Double(L * C * T))
        XCTAssertEqual(c.flopsPerToken, 855_166_464)
    }

    /// B = 64, T = 64 (4,096 tokens), C = 16, NH = 2, L = 2, V = 32; Tp = 64. Per token:
    ///   embeddings   wte out 16 + wpe out 16 + sum 16                                        48
    ///   each block   ln_1 16 + mean/rstd 2 + qkv 48 + attention out 16 + probs 2·64 = 128
    ///                + c_proj with the residual added 16 + ln_2 16 + 2 + gelu(c_fc) 64
    ///                + gelu' 64 + c_proj with the residual added 16                         388
    ///   head         ln_f 16 + mean/rstd 2 + logits 32 + logsumexp 1                         51
    /// 48 + 2·388 + 51 = 875 floats per token, 3,584,000 in all. Dropout makes the two residual adds
    /// of each block separate outputs (2·16 per block) and adds 5 outputs (embeddings and two per
    /// block) of 16 floats per token: 1,019 per token, 4,173,824 in all, and 5 masks of 65,536 bits
    /// (8,192 bytes each) = 40,960 bytes.
    static let tiny = GPTConfig(vocabSize: 32, blockSize: 64, nLayer: 2, nHead: 2, nEmbd: 16, bias: true)

    func testActivationCountOfATinyModelByHand() {
        let a = GPT.savedActivations(Self.tiny, batch: 64, time: 64)
        XCTAssertEqual(a.floats, 3_584_000)
        XCTAssertEqual(a.maskBytes, 0)
        XCTAssertEqual(a.logits, 4096 * 32)
        XCTAssertEqual(a.bytes, 4 * 3_584_000)
        var dropping = Self.tiny
        dropping.dropout = 0.1
        let d = GPT.savedActivations(dropping, batch: 64, time: 64)
        XCTAssertEqual(d.floats, 4_173_824)
        XCTAssertEqual(d.maskBytes, 40_960)
        XCTAssertEqual(GPT.savedActivations(dropping, batch: 64, time: 64, training: false).floats, 3_584_000)
    }

    /// Bytes of pooled buffers that one recorded training forward leaves alive: every buffer freed
    /// when the tape is dropped goes to the pool's idle list (the cap is lifted), so the growth of
    /// idle bytes from just after the forward to just after the reset is what the tape held.
    /// The pool caches only buffers of ≥ 4,096 floats, rounded up to its size classes.
    func heldBytesAfterForward(_ config: GPTConfig, batch: Int) -> Int {
        let savedCap = BufferPool.capacityBytes
        BufferPool.capacityBytes = 1 << 40
        defer { BufferPool.capacityBytes = savedCap }
        let model = GPT(config: config, seed: 3)
        var rng = RandomGenerator(seed: 4)
        let ids = (0..<(batch * config.blockSize)).map { _ in Int32(rng.nextInt(below: config.vocabSize)) }
        let targets = (0..<(batch * config.blockSize)).map { _ in Int32(rng.nextInt(below: config.vocabSize)) }
        Tape.current.reset()
        var afterForward = 0
        do {
            let (logits, loss) = model.loss(ids, targets: targets, batch: batch, time: config.blockSize,
                                            training: true, rng: &rng)
            afterForward = BufferPool.idleBytes
            XCTAssertGreaterThan(Tape.current.count, 0)
            Tape.current.reset()
            withExtendedLifetime((logits, loss)) {}
        }
        return withExtendedLifetime(model) { BufferPool.idleBytes - afterForward }
    }

    /// Every saved tensor of the tiny model is at least 4,096 floats and an exact pool size class
    /// (a power of two, or 3·2^16 for qkv), so the pool sees exactly the formula's floats.
    func testActivationCountEqualsWhatTheTapeHolds() {
        XCTAssertEqual(heldBytesAfterForward(Self.tiny, batch: 64),
                       4 * GPT.savedActivations(Self.tiny, batch: 64, time: 64).floats)
        var dropping = Self.tiny
        dropping.dropout = 0.1
        // Dropout masks are Swift arrays, outside the pool.
        XCTAssertEqual(heldBytesAfterForward(dropping, batch: 64),
                       4 * GPT.savedActivations(dropping, batch: 64, time: 64).floats)
    }

    /// With the tiled kernels each block saves B·NH·T log-sum-exps (8,192 floats here) instead of the
    /// probabilities, and the tape holds exactly that.
    func testTiledAttentionActivationCountEqualsWhatTheTapeHolds() {
        AttentionMethod.force(.tiled)
        defer { AttentionMethod.force(nil) }
        let a = GPT.savedActivations(Self.tiny, batch: 64, time: 64)
        XCTAssertEqual(a.attention, .tiled)
        XCTAssertEqual(a.attentionPerBlock, 64 * 2 * 64)
        XCTAssertEqual(a.floats, GPT.savedActivations(Self.tiny, batch: 64, time: 64, attention: .materialized).floats
                       - 2 * 64 * 2 * 64 * (64 - 1))
        XCTAssertEqual(heldBytesAfterForward(Self.tiny, batch: 64), 4 * a.floats)
    }

    /// The CPU recipe's shape: per-row statistics (768 floats) are below the pool's 4,096-float
    /// minimum, and sizes round up to classes of at most 12.5% slack, so the pool holds between the
    /// formula minus those statistics (0.2%) and 12.5% more.
    func testActivationCountOfTheCPURecipeShapeIsWithinPoolRounding() {
        let c = GPTConfig(vocabSize: 65, blockSize: 64, nLayer: 4, nHead: 4, nEmbd: 128, bias: false)
        let expected = Double(GPT.savedActivations(c, batch: 12, time: 64).bytes)
        let held = Double(heldBytesAfterForward(c, batch: 12))
        XCTAssertGreaterThan(held, 0.99 * expected)
        XCTAssertLessThan(held, 1.125 * expected)
    }
}
