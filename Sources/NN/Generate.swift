// Autoregressive generation with a KV cache: the prompt (its last blockSize tokens) is fed once, then
// each sampled token is fed alone, so a new token costs one position's work.
//
// Cropping: positions are absolute, so a full cache cannot slide by one. When the cache is full and
// another token must be fed, the context is cropped to its last `keepOnCrop` tokens (including the
// token just sampled), the cache is reset and that window is fed again. The model therefore always
// conditions on between keepOnCrop and blockSize previous tokens. The default keeps blockSize/2, so a
// re-feed happens every blockSize/2 tokens and the average cost stays about two positions per token;
// keepOnCrop = blockSize reproduces nanoGPT's sample.py exactly (always the last blockSize tokens,
// at the price of a full forward pass per token once the context is full).
import Autograd
import Kernels

extension GPT {
    /// Samples up to `maxNewTokens` tokens after `prompt`, calling `onToken` with each one as soon as it
    /// is drawn (for streaming); generation stops early when `onToken` returns false. Returns the new
    /// tokens. Throws GenerationError for an empty prompt, a token outside the vocabulary or invalid
    /// options, before doing any work.
    public func generate(prompt: [Int32], maxNewTokens: Int, sampler: inout Sampler, keepOnCrop: Int? = nil,
                         onToken: (Int32) throws -> Bool = { _ in true }) throws -> [Int32] {
        let block = config.blockSize, vocab = config.vocabSize
        if prompt.isEmpty { throw GenerationError.emptyPrompt }
        if let i = prompt.firstIndex(where: { $0 < 0 || Int($0) >= vocab }) {
            throw GenerationError.tokenOutOfRange(position: i, token: prompt[i], vocabSize: vocab)
        }
        if maxNewTokens < 0 {
            throw GenerationError.invalidOption("the number of new tokens must be >= 0, got \(maxNewTokens)")
        }
        let keep = keepOnCrop ?? max(1, block / 2)
        if !(1...block).contains(keep) {
            throw GenerationError.invalidOption("tokens kept when the context is cropped must be in 1...\(block), got "
                                                + "\(keep)")
        }
        try sampler.options.validate()
        if maxNewTokens == 0 { return [] }

        var context = Array(prompt.suffix(block))
        var cache = KVCache(for: self, batch: 1)
        var logits = forwardIncremental(context, cache: &cache)  // (1, n, V)
        var generated: [Int32] = []
        // Reserve a modest start only: the caller may ask for far more tokens than it will ever wait for
        // (streaming stops when onToken returns false), and the array grows as tokens really come.
        generated.reserveCapacity(min(maxNewTokens, 4096))
        while true {
            let token = sampler.next(logits.data + (logits.count - vocab), count: vocab)
            generated.append(token)
            context.append(token)
            guard try onToken(token), generated.count < maxNewTokens else { break }
            if cache.isFull {
                cache.reset()
                logits = forwardIncremental(Array(context.suffix(keep)), cache: &cache)
            } else {
                logits = forwardIncremental([token], cache: &cache)
            }
            if context.count > 2 * block { context.removeFirst(context.count - block) }
        }
        return generated
    }
}
