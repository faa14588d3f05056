import XCTest
import Autograd
import Kernels
import NN
import TestSupport

/// Incremental decoding with the KV cache computes what the full forward pass computes.
final class KVCacheTests: XCTestCase {
    override func setUp() { Tape.current.reset() }

    static let config = GPTConfig(vocabSize: 23, blockSize: 16, nLayer: 2, nHead: 4, nEmbd: 32, dropout: 0, bias: true)

    /// A model with weights larger than GPT-2's init (std 0.02 makes attention nearly uniform, which
    /// would hide mistakes in which keys a query sees).
    static func model(seed: UInt64, config: GPTConfig = config) -> GPT {
        let m = GPT(config: config, seed: nil, trainable: false)
        var rng = RandomGenerator(seed: seed)
        for p in m.parameters where p.tensor.rank == 2 {
            rng.fillNormal(p.tensor.data, count: p.tensor.count, std: 0.3)
        }
        return m
    }

    static func fullLogits(_ model: GPT, _ ids: [Int32], batch: Int) -> [Float] {
        var rng = RandomGenerator(seed: 0)
        return withoutGrad { model.forward(ids, batch: batch, time: ids.count / batch, training: false,
                                           rng: &rng) }.array
    }

    func testDecodeKernelMatchesReference() {
        var rng = RandomGenerator(seed: 11)
        let B = 2, NH = 3, hs = 12, C = NH * hs, capacity = 9, past = 4, n = 3
        let qkv = Tensor.normal([B, n, 3 * C], rng: &rng)
        let k = Tensor.normal([B, NH, capacity, hs], rng: &rng), v = Tensor.normal([B, NH, capacity, hs], rng: &rng)
        kvCacheAppend(kCache: k.data, vCache: v.data, qkv: qkv.data, B: B, n: n, past: past, capacity: capacity, NH: NH,
                      hs: hs)
        // The new keys and values sit at positions past..<past+n of each (b, h).
        XCTAssertEqual(k.data[((1 * NH + 2) * capacity + past + 1) * hs + 5],
                       qkv.data[(1 * n + 1) * 3 * C + C + 2 * hs + 5])
        XCTAssertEqual(v.data[((0 * NH + 1) * capacity + past + 2) * hs + 0],
                       qkv.data[(0 * n + 2) * 3 * C + 2 * C + 1 * hs])
        let out = Tensor(zeros: [B, n, C]), expected = Tensor(zeros: [B, n, C])
        attentionDecodeForward(out.data, qkv: qkv.data, kCache: k.data, vCache: v.data, B: B, n: n, past: past,
                               capacity: capacity, NH: NH, hs: hs, scale: 0.7)
        attentionDecodeReference(expected.data, qkv: qkv.data, kCache: k.data, vCache: v.data, B: B, n: n, past: past,
                                 capacity: capacity, NH: NH, hs: hs, scale: 0.7)
        let r = compareClose(out.array, expected.array, rtol: 1e-5, atol: 1e-6, name: "decode attention")
        XCTAssert(r.ok, r.message)
        // Positions after past + i are never read: poisoning them changes nothing.
        for b in 0..<B { for h in 0..<NH { for j in (past + n)..<capacity {
            k.data[((b * NH + h) * capacity + j) * hs] = .nan
            v.data[((b * NH + h) * capacity + j) * hs] = .nan
        } } }
        let again = Tensor(zeros: [B, n, C])
        attentionDecodeForward(again.data, qkv: qkv.data, kCache: k.data, vCache: v.data, B: B, n: n, past: past,
                               capacity: capacity, NH: NH, hs: hs, scale: 0.7)
        XCTAssertEqual(again.array, out.array)
    }

    func testIncrementalLogitsEqualFullForward() {
        let model = Self.model(seed: 1)
        var rng = RandomGenerator(seed: 2)
        let B = 2, T = 16, V = Self.config.vocabSize
        let ids = (0..<(B * T)).map { _ in Int32(rng.nextInt(below: V)) }
        let full = Self.fullLogits(model, ids, batch: B)  // (B, T, V)

        // Feed the rows in chunks of 5, then 1, 1, 3, then 1s; compare each chunk's logits.
        var cache = KVCache(for: model, batch: B)
        var t = 0
        for n in [5, 1, 1, 3] + Array(repeating: 1, count: 6) {
            var chunk: [Int32] = []
            for b in 0..<B { chunk += ids[(b * T + t)..<(b * T + t + n)] }
            let logits = model.forwardIncremental(chunk, cache: &cache)
            XCTAssertEqual(logits.shape, [B, n, V])
            var expected: [Float] = []
            for b in 0..<B { expected += full[((b * T + t) * V)..<((b * T + t + n) * V)] }
            let r = compareClose(logits.array, expected, rtol: 0, atol: 1e-5,
                                 name: "logits at positions \(t)..<\(t + n)")
            XCTAssert(r.ok, r.message)
            t += n
            XCTAssertEqual(cache.length, t)
        }
        XCTAssertTrue(cache.isFull)
        XCTAssertEqual(Tape.current.count, 0, "incremental decoding records nothing")

        // After a reset the cache starts over at position 0.
        cache.reset()
        let again = model.forwardIncremental(ids.enumerated().filter { $0.offset % T < 4 }.map(\.element),
                                             cache: &cache)
        var expected: [Float] = []
        for b in 0..<B { expected += full[((b * T) * V)..<((b * T + 4) * V)] }
        let r = compareClose(again.array, expected, rtol: 0, atol: 1e-5, name: "after reset")
        XCTAssert(r.ok, r.message)
    }

    /// The same policy as GPT.generate (see its header), written with full forward passes.
    static func referenceGreedy(_ model: GPT, prompt: [Int32], count: Int, keep: Int) -> [Int32] {
        let block = model.config.blockSize, V = model.config.vocabSize
        var window = Array(prompt.suffix(block)), context = prompt, out: [Int32] = []
        while out.count < count {
            let logits = fullLogits(model, window, batch: 1)
            let last = Array(logits[((window.count - 1) * V)...])
            let token = Int32(last.indices.max { last[$0] < last[$1] || (last[$0] == last[$1] && $0 > $1) }!)
            out.append(token)
            context.append(token)
            if window.count == block { window = Array(context.suffix(keep)) } else { window.append(token) }
        }
        return out
    }

    func testGreedyGenerationMatchesFullRecomputationAcrossCrops() throws {
        let config = GPTConfig(vocabSize: 23, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 16, dropout: 0, bias: false)
        let model = Self.model(seed: 3, config: config)
        let prompt: [Int32] = [4, 8, 15]
        for keep in [8, 4, 1] {
            var sampler = Sampler(options: SamplingOptions(temperature: 0), seed: 0)
            var streamed: [Int32] = []
            let tokens = try model.generate(prompt: prompt, maxNewTokens: 30, sampler: &sampler, keepOnCrop: keep) {
                streamed.append($0)
                return true
            }
            XCTAssertEqual(tokens.count, 30)
            XCTAssertEqual(streamed, tokens)
            XCTAssertEqual(tokens, Self.referenceGreedy(model, prompt: prompt, count: 30, keep: keep),
                           "keepOnCrop \(keep)")
            XCTAssertGreaterThan(Set(tokens).count, 1, "a degenerate model would make this test vacuous")
        }
        // A prompt longer than the block is cropped to its last blockSize tokens.
        let long: [Int32] = (0..<13).map { Int32($0 % 23) }
        var sampler = Sampler(options: SamplingOptions(temperature: 0), seed: 0)
        XCTAssertEqual(try model.generate(prompt: long, maxNewTokens: 10, sampler: &sampler),
                       Self.referenceGreedy(model, prompt: long, count: 10, keep: 4))
    }

    func testSamplingIsDeterministicForASeedAndStopsOnRequest() throws {
        let model = Self.model(seed: 4)
        let options = SamplingOptions(temperature: 0.9, topK: 10, topP: 0.95)
        func run(seed: UInt64) throws -> [Int32] {
            var sampler = Sampler(options: options, seed: seed)
            return try model.generate(prompt: [1, 2], maxNewTokens: 40, sampler: &sampler)
        }
        let a = try run(seed: 7)
        XCTAssertEqual(a.count, 40)
        XCTAssertEqual(try run(seed: 7), a)
        XCTAssertNotEqual(try run(seed: 8), a)
        var n = 0
        var sampler = Sampler(options: options, seed: 7)
        let stopped = try model.generate(prompt: [1, 2], maxNewTokens: 40, sampler: &sampler) { _ in
            n += 1; return n < 5
        }
        XCTAssertEqual(stopped, Array(a.prefix(5)))
        var none = Sampler(options: options, seed: 7)
        XCTAssertEqual(try model.generate(prompt: [1], maxNewTokens: 0, sampler: &none), [])
        XCTAssertEqual(none.rng, RandomGenerator(seed: 7), "nothing drawn when nothing is generated")
    }

    func testGenerationRejectsBadInputWithOneLine() {
        let model = Self.model(seed: 5)
        var sampler = Sampler(options: SamplingOptions(), seed: 0)
        func message(_ body: () throws -> Any) -> String? {
            do { _ = try body(); return nil } catch { return "\(error)" }
        }
        XCTAssertEqual(message { try model.generate(prompt: [], maxNewTokens: 3, sampler: &sampler) },
                       "the prompt is empty: generation needs at least one token to start from")
        XCTAssertEqual(message { try model.generate(prompt: [1, 23], maxNewTokens: 3, sampler: &sampler) },
                       "prompt token 1 is 23, outside the model's vocabulary 0..<23")
        XCTAssertEqual(message { try model.generate(prompt: [1], maxNewTokens: -1, sampler: &sampler) },
                       "the number of new tokens must be >= 0, got -1")
        XCTAssertEqual(message { try model.generate(prompt: [1], maxNewTokens: 3, sampler: &sampler, keepOnCrop: 17) },
                       "tokens kept when the context is cropped must be in 1...16, got 17")
        var bad = Sampler(options: SamplingOptions(temperature: -1), seed: 0)
        XCTAssertEqual(message { try model.generate(prompt: [1], maxNewTokens: 3, sampler: &bad) },
                       "temperature must be a finite number >= 0, got -1.0")
    }
}
