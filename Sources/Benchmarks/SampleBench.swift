// Inference benchmarks: one new token with the KV cache against re-running the whole context, and
// GPT-2 BPE encoding throughput.
//   sample: baby GPT shape (6L/6H/384, block 256, vocab 65), random weights; the next token at 256
//           tokens of context costs one incremental position (255 cached) or one full forward of 256.
//   bpe:    GPT-2's tokenizer (encoder.json + vocab.bpe, found as `tinygpt prepare --tokenizer gpt2`
//           finds them) encoding tiny Shakespeare (../shared/data or data/tinyshakespeare.txt).
import Foundation
import Autograd
import Data
import Kernels
import NN

func samplingBenchmark(_ options: BenchOptions) {
    Parallel.setThreadCount(options.threads)
    let g = GPTConfig(vocabSize: 65, blockSize: 256, nLayer: 6, nHead: 6, nEmbd: 384, dropout: 0, bias: false)
    let model = GPT(config: g, seed: 1, trainable: false)
    var rng = RandomGenerator(seed: 2)
    let context = (0..<g.blockSize).map { _ in Int32(rng.nextInt(below: g.vocabSize)) }
    print("== sampling: KV cache vs full re-forward (baby GPT shape, \(options.threads) threads) ==")

    // Full re-forward: logits for all 256 positions, of which sampling uses the last.
    let full = medianSeconds(warmup: 1, repeats: 7) {
        var dropout = RandomGenerator(seed: 0)
        withoutGrad { _ = model.forward(context, batch: 1, time: g.blockSize, training: false, rng: &dropout) }
    }
    // KV cache: 255 positions cached, then the 256th alone (each repeat on a copy of the filled cache,
    // which shares its buffers and rewrites the same last position).
    var cache = KVCache(for: model, batch: 1)
    _ = model.forwardIncremental(Array(context.prefix(g.blockSize - 1)), cache: &cache)
    let incremental = medianSeconds(warmup: 3, repeats: 51) {
        var c = cache
        _ = model.forwardIncremental([context[g.blockSize - 1]], cache: &c)
    }
    print(pad("next token at context 256", 34) + lpad("ms", 9) + lpad("tokens/s", 11))
    print(pad("  full re-forward (256 positions)", 34) + lpad(fmt(full * 1000, 2), 9) + lpad(fmt(1 / full, 0), 11))
    print(pad("  KV cache (1 position)", 34) + lpad(fmt(incremental * 1000, 2), 9) + lpad(fmt(1 / incremental, 0), 11))
    print("  speed-up: \(fmt(full / incremental, 1))× per token (goal ≥ 10×)")

    // End to end: 512 new tokens after a one-token prompt with GPT.generate (crops and re-feeds half
    // the context each time the cache fills).
    var sampler = Sampler(options: SamplingOptions(temperature: 1), seed: 3)
    let n = 512
    var produced = 0
    let t = seconds {
        produced = (try? model.generate(prompt: [0], maxNewTokens: n, sampler: &sampler).count) ?? 0
    }
    print("  generate(): \(produced) tokens in \(fmt(t * 1000, 0)) ms = \(fmt(Double(produced) / t, 0)) tokens/s "
          + "(includes a re-feed of 128 positions every 128 tokens once the cache is full)")
}

func bpeBenchmark(_ options: BenchOptions) {
    print("== GPT-2 BPE encoding ==")
    let candidates = ["../shared/data/tinyshakespeare.txt", "data/tinyshakespeare.txt"]
    guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }),
          let text = try? String(contentsOfFile: path, encoding: .utf8) else {
        print("skipped: tiny Shakespeare not found (\(candidates.joined(separator: ", "))); run " +
                "scripts/fetch_shakespeare.sh")
        return
    }
    let tokenizer: BytePairTokenizer
    do { tokenizer = try BytePairTokenizer.loadGPT2(directory: try BytePairTokenizer.findGPT2Directory()) } catch {
        print("skipped: \(error)")
        return
    }
    let mb = Double(text.utf8.count) / 1e6
    var ids: [Int32] = []
    let cold = seconds { ids = tokenizer.encode(text) }
    let warm = medianSeconds(warmup: 0, repeats: 3) { ids = tokenizer.encode(text) }
    print("\(path): \(fmt(mb, 2)) MB → \(ids.count) tokens; "
          + "first pass (empty merge cache) \(fmt(mb / cold, 2)) MB/s, "
          + "again \(fmt(mb / warm, 2)) MB/s (one thread)")
}
