// How fine-tuning rows become token ids.
// classify (GPT-1, Radford et al. 2018, §3.3 "Task-specific input transformations"):
//   [start] text [extract]                     single text
//   [start] text [delimiter] text_b [extract]  pairs (entailment, similarity)
// The start, delimiter and extract tokens are new ids appended after the base model's vocabulary
// (base, base+1, base+2); the classifier reads the final hidden state at the extract token.
// generate (instruction tuning): render(template, prompt) completion [end], where the loss covers only
// the completion and the end token. `end` is the tokenizer's end-of-text token when it has one, else
// a new id appended after the base vocabulary like the task tokens.
import Foundation

public struct ClassificationFormat {
    public let tokenizer: any Tokenizer
    public let start: Int32
    public let delimiter: Int32
    public let extract: Int32
    /// The model's context length: encoded rows never exceed it.
    public let blockSize: Int

    public init(tokenizer: any Tokenizer, baseVocabSize: Int, blockSize: Int) {
        precondition(blockSize >= 4, "ClassificationFormat: block size \(blockSize) leaves no room for text")
        self.tokenizer = tokenizer
        start = Int32(baseVocabSize)
        delimiter = Int32(baseVocabSize + 1)
        extract = Int32(baseVocabSize + 2)
        self.blockSize = blockSize
    }

    /// Number of ids the format adds to the base vocabulary.
    public static let addedTokens = 3

    /// The ids of one row and whether its text was cut to fit the context. Truncation keeps the start
    /// token, the delimiter and the extract token, and shortens the longer text from its end (both,
    /// alternately, when they are equally long). Throws what `encodeChecked` throws for text the
    /// tokenizer cannot represent.
    public func encode(text: String, textB: String?) throws -> (ids: [Int32], truncated: Bool) {
        var a = try tokenizer.encodeChecked(text)
        var b = try textB.map { try tokenizer.encodeChecked($0) } ?? []
        let budget = blockSize - 2 - (textB == nil ? 0 : 1)
        let truncated = a.count + b.count > budget
        if truncated {
            var la = a.count, lb = b.count
            // Halve the excess between the texts, taking from the longer one first.
            let excess = la + lb - budget
            let fromLonger = min(excess, abs(la - lb))
            if la >= lb { la -= fromLonger } else { lb -= fromLonger }
            let rest = excess - fromLonger
            la -= (rest + 1) / 2; lb -= rest / 2
            if la < 0 { lb += la; la = 0 }
            if lb < 0 { la += lb; lb = 0 }
            a = Array(a.prefix(la)); b = Array(b.prefix(lb))
        }
        var ids: [Int32] = [start]
        ids.reserveCapacity(a.count + b.count + 3)
        ids += a
        if textB != nil { ids.append(delimiter); ids += b }
        ids.append(extract)
        return (ids, truncated)
    }
}

public struct InstructionFormat {
    public static let promptPlaceholder = "{prompt}"
    /// Alpaca's markers (without its preamble).
    public static let defaultTemplate = "### Instruction:\n{prompt}\n\n### Response:\n"

    public let tokenizer: any Tokenizer
    public let template: String
    public let end: Int32
    public let blockSize: Int

    public init(tokenizer: any Tokenizer, template: String, end: Int32, blockSize: Int) throws {
        guard template.contains(Self.promptPlaceholder) else {
            throw DataError.badOption(flag: "--template", problem: "must contain \(Self.promptPlaceholder), got " +
                    "\"\(template)\"")
        }
        precondition(blockSize >= 2, "InstructionFormat: block size \(blockSize) is too small")
        self.tokenizer = tokenizer
        self.template = template
        self.end = end
        self.blockSize = blockSize
    }

    /// The end token: the tokenizer's end-of-text token if it has one, else the first id after the base
    /// vocabulary (and then the model's vocabulary grows by one).
    public static func endToken(tokenizer: any Tokenizer, baseVocabSize: Int) -> (id: Int32, added: Bool) {
        if let eot = tokenizer.eotToken, Int(eot) < baseVocabSize { return (eot, false) }
        return (Int32(baseVocabSize), true)
    }

    public func render(_ prompt: String) -> String {
        template.replacingOccurrences(of: Self.promptPlaceholder, with: prompt)
    }

    /// The ids the model sees before it answers.
    public func promptIds(_ prompt: String) throws -> [Int32] {
        try tokenizer.encodeChecked(render(prompt))
    }

    /// prompt ids + completion ids + [end], at most blockSize + 1 ids (inputs are all but the last,
    /// targets all but the first), and how many leading ids belong to the prompt (no loss there).
    /// A row too long keeps the end of the prompt (where the response marker is) and the start of
    /// the completion, giving the completion at least half the context when it needs it.
    public func encode(prompt: String, completion: String) throws -> (ids: [Int32], promptCount: Int, truncated: Bool) {
        var p = try promptIds(prompt)
        var c = try tokenizer.encodeChecked(completion)
        c.append(end)
        let limit = blockSize + 1
        let truncated = p.count + c.count > limit
        if truncated {
            let keepC = min(c.count, max(limit / 2, limit - p.count))
            let keepP = limit - keepC
            p = Array(p.suffix(keepP))
            c = Array(c.prefix(keepC))
        }
        return (p + c, p.count, truncated)
    }
}
