// Incremental decoding for token-by-token generation. A byte-level token can end in the middle of a
// UTF-8 character (one emoji may take several tokens); printing each token's bytes as they come would
// show broken characters. This decoder holds back an incomplete trailing sequence until the tokens
// that complete it arrive, so every string it returns is whole characters.

public struct StreamingDecoder {
    public let tokenizer: any Tokenizer
    private var pending: [UInt8] = []

    public init(tokenizer: any Tokenizer) {
        self.tokenizer = tokenizer
    }

    /// Bytes held back waiting for the rest of a character (at most 3).
    public var pendingByteCount: Int { pending.count }

    /// Adds one token; returns the text it completes (possibly empty).
    public mutating func push(_ id: Int32) -> String { push([id]) }

    /// Adds tokens; returns the text they complete (possibly empty).
    public mutating func push(_ ids: [Int32]) -> String {
        pending += tokenizer.decodeBytes(ids)
        let hold = UTF8Scalars.incompleteTailLength(pending)
        let ready = pending.count - hold
        guard ready > 0 else { return "" }
        let text = String(decoding: pending[0..<ready], as: UTF8.self)
        pending.removeFirst(ready)
        return text
    }

    /// Ends the stream: whatever is held back is returned (an unfinished character becomes U+FFFD).
    public mutating func finish() -> String {
        defer { pending = [] }
        return pending.isEmpty ? "" : String(decoding: pending, as: UTF8.self)
    }
}
