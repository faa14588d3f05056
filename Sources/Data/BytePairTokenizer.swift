// Byte-level BPE (GPT-2's scheme, Sennrich et al. 2016 applied to bytes): text is split by the GPT-2
// pre-tokeniser, each piece starts as one token per byte, and adjacent pairs are merged lowest merge
// rank first (leftmost on ties) until no listed pair remains. Every byte is a token, so any UTF-8
// round-trips. Token ids: byte b -> byteIds[b]; merge i -> 256 + i; special tokens after the merges.
// The same class serves tokenizers trained here ("bpe") and GPT-2's own files ("gpt2"), which differ
// only in the byte-id permutation and the merge list.
import Foundation

public final class BytePairTokenizer: Tokenizer, PieceEncoder {
    public static let trainedTypeName = "bpe"
    public static let gpt2TypeName = "gpt2"
    public static let endOfText = "<|endoftext|>"

    public let type: String
    public let vocabSize: Int
    public let specialTokens: [String: Int32]
    public let eotToken: Int32?
    /// byteIds[b] = id of the one-byte token b.
    public let byteIds: [Int32]
    /// merges[i] = (left, right), producing id 256 + i.
    public let merges: [(Int32, Int32)]
    private let pairs: PairTable
    private let tokenBytes: [[UInt8]]   // id -> bytes, specials included
    /// Word cache shared by `encode` calls (many short texts, e.g. fine-tuning rows); a call that
    /// finds it in use by another thread uses a private one instead.
    private let shared = SharedCache()

    /// The cache and its lock; the cache is only touched by the thread holding the lock.
    private final class SharedCache: @unchecked Sendable {
        let cache = BPECache(maxEntries: 1 << 16)
        let lock = NSLock()
    }

    /// Runs `body` with the shared cache if it is free, otherwise with a fresh one.
    private func withCache<R>(_ body: (BPECache) -> R) -> R {
        if shared.lock.try() {
            defer { shared.lock.unlock() }
            return body(shared.cache)
        }
        return body(BPECache())
    }

    public var mergeCount: Int { merges.count }

    /// Throws (naming `source`) if a merge refers to a token that does not exist yet or ids collide.
    public init(type: String, byteIds: [Int32], merges: [(Int32, Int32)], specialTokens: [String: Int32],
                source: String = "tokenizer") throws {
        guard byteIds.count == 256, Set(byteIds).count == 256, byteIds.allSatisfy({ $0 >= 0 && $0 < 256 }) else {
            throw DataError.badTokenizerFile(path: source, problem: "byte ids must be a permutation of 0...255")
        }
        let base = 256 + merges.count
        var bytes = [[UInt8]](repeating: [], count: base)
        for b in 0..<256 { bytes[Int(byteIds[b])] = [UInt8(b)] }
        var table = PairTable(capacity: merges.count)
        for (i, (l, r)) in merges.enumerated() {
            guard l >= 0, r >= 0, Int(l) < 256 + i, Int(r) < 256 + i else {
                throw DataError.badTokenizerFile(path: source,
                                                 problem: "merge \(i) (\(l), \(r)) uses a token not defined before it")
            }
            guard table.insert(left: l, right: r, rank: Int32(i)) else {
                throw DataError.badTokenizerFile(path: source,
                                                 problem: "merge \(i) (\(l), \(r)) repeats an earlier merge")
            }
            bytes[256 + i] = bytes[Int(l)] + bytes[Int(r)]
        }
        var size = base
        for (name, id) in specialTokens.sorted(by: { $0.value < $1.value }) {
            guard Int(id) == size else {
                throw DataError.badTokenizerFile(path: source,
                                                 problem: "special token \(name) has id \(id) (expected \(size), "
                                                          + "right after the merges)")
            }
            bytes.append(Array(name.utf8))
            size += 1
        }
        self.type = type
        self.byteIds = byteIds
        self.merges = merges
        self.pairs = table
        self.tokenBytes = bytes
        self.specialTokens = specialTokens
        self.vocabSize = size
        self.eotToken = specialTokens[Self.endOfText]
    }

    // MARK: tokenizer.json

    public convenience init(jsonObject o: [String: Any], source: String) throws {
        guard let type = o["type"] as? String else {
            throw DataError.badTokenizerFile(path: source, problem: "missing \"type\"")
        }
        let byteIds: [Int32]
        if let b = o["byte_ids"] {
            guard let a = b as? [Int] else {
                throw DataError.badTokenizerFile(path: source, problem: "\"byte_ids\" must be an array of 256 integers")
            }
            byteIds = a.map { Int32(clamping: $0) }
        } else {
            byteIds = (0..<256).map { Int32($0) }
        }
        let merges: [(Int32, Int32)]
        if let text = o["merges"] as? String {
            merges = try Self.parseMerges(text, source: source)
        } else if let flat = o["merges"] as? [Int], flat.count % 2 == 0 {
            merges = stride(from: 0, to: flat.count, by: 2).map {
                (Int32(clamping: flat[$0]), Int32(clamping: flat[$0 + 1]))
            }
        } else {
            throw DataError.badTokenizerFile(path: source,
                                             problem: "\"merges\" must be a string of \"left right\" id pairs, one "
                                                      + "per line")
        }
        var specials: [String: Int32] = [:]
        if let s = o["special_tokens"] {
            guard let d = s as? [String: Int] else {
                throw DataError.badTokenizerFile(path: source, problem: "\"special_tokens\" must map names to ids")
            }
            for (k, v) in d { specials[k] = Int32(clamping: v) }
        }
        try self.init(type: type, byteIds: byteIds, merges: merges, specialTokens: specials, source: source)
    }

    public func jsonObject() -> [String: Any] {
        var o: [String: Any] = [
            "type": type,
            "merges": Self.formatMerges(merges),
            "special_tokens": specialTokens.mapValues { Int($0) },
        ]
        if byteIds != (0..<256).map({ Int32($0) }) { o["byte_ids"] = byteIds.map { Int($0) } }
        return o
    }

    /// Merges as text, "left right" ids one pair per line: one JSON string instead of 100,000
    /// numbers, because Foundation's JSON is slow on large arrays (GPT-2: 0.9 s to write them).
    static func formatMerges(_ merges: [(Int32, Int32)]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(merges.count * 12)
        func put(_ v: Int32) { out.append(contentsOf: String(v).utf8) }
        for (i, (l, r)) in merges.enumerated() {
            if i > 0 { out.append(0x0A) }
            put(l); out.append(0x20); put(r)
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func parseMerges(_ text: String, source: String) throws -> [(Int32, Int32)] {
        var merges: [(Int32, Int32)] = []
        var bad: Int?
        var t = text
        t.withUTF8 { p in
            var values: [Int32] = []
            var v: Int64 = 0, digits = 0, line = 1
            func finishNumber() -> Bool {
                guard digits > 0, v <= Int64(Int32.max) else { return false }
                values.append(Int32(v)); v = 0; digits = 0
                return true
            }
            for i in 0...p.count {
                let b: UInt8 = i < p.count ? p[i] : 0x0A
                if b >= 0x30 && b <= 0x39 {
                    v = v * 10 + Int64(b - 0x30); digits += 1
                    if digits > 10 { bad = line; return }
                } else if b == 0x20 && values.isEmpty {
                    if !finishNumber() { bad = line; return }
                } else if b == 0x0A {
                    if i == p.count && digits == 0 && values.isEmpty { return }  // empty text or a final newline
                    guard finishNumber(), values.count == 2 else { bad = line; return }
                    merges.append((values[0], values[1]))
                    values.removeAll(keepingCapacity: true)
                    line += 1
                } else {
                    bad = line; return
                }
            }
        }
        if let bad {
            throw DataError.badTokenizerFile(path: source,
                                             problem: "merges line \(bad): expected two token ids separated by one "
                                                      + "space")
        }
        return merges
    }

    // MARK: encoding

    public func encode(_ text: String) -> [Int32] {
        var s = text
        var out: [Int32] = []
        out.reserveCapacity(s.utf8.count / 3)
        withCache { cache in s.withUTF8 { appendOrdinary($0, cache: cache, to: &out) } }
        return out
    }

    /// Encodes `text`, mapping the listed special-token names to their ids (tiktoken's allowed_special).
    public func encode(_ text: String, allowedSpecial: Set<String>) -> [Int32] {
        let specials = allowedSpecial.compactMap { name in specialTokens[name].map { (Array(name.utf8), $0) } }
        if specials.isEmpty { return encode(text) }
        var s = text
        var out: [Int32] = []
        withCache { cache in s.withUTF8 { p in
            var segment = 0
            var i = 0
            while i < p.count {
                var matched: ([UInt8], Int32)?
                for sp in specials where p[i] == sp.0[0] && i + sp.0.count <= p.count {
                    if (0..<sp.0.count).allSatisfy({ p[i + $0] == sp.0[$0] }), sp.0.count > (matched?.0.count ?? 0) {
                        matched = sp
                    }
                }
                if let (name, id) = matched {
                    appendOrdinary(UnsafeBufferPointer(rebasing: p[segment..<i]), cache: cache, to: &out)
                    out.append(id)
                    i += name.count
                    segment = i
                } else {
                    i += 1
                }
            }
            appendOrdinary(UnsafeBufferPointer(rebasing: p[segment..<p.count]), cache: cache, to: &out)
        } }
        return out
    }

    func makeWorkspace() -> AnyObject? { BPECache() }

    func encodePiece(_ bytes: UnsafeBufferPointer<UInt8>, workspace: AnyObject?, into out: inout [Int32]) throws {
        appendOrdinary(bytes, cache: (workspace as? BPECache) ?? BPECache(), to: &out)
    }

    /// Ids of valid UTF-8 `p`, with no special tokens recognised.
    func appendOrdinary(_ p: UnsafeBufferPointer<UInt8>, cache: BPECache, to out: inout [Int32]) {
        guard p.count > 0 else { return }
        byteIds.withUnsafeBufferPointer { byteIds in
            GPT2PreTokenizer.forEachPiece(p) { r in
                if r.count == 1 { out.append(byteIds[Int(p[r.lowerBound])]); return }
                let word = UnsafeBufferPointer(rebasing: p[r])
                if r.count > 256 { merge(word, byteIds: byteIds, into: &out); return }  // too rare to cache
                let h = BPECache.hash(word)
                if cache.lookup(word, hash: h, into: &out) { return }
                let before = out.count
                merge(word, byteIds: byteIds, into: &out)
                cache.insert(word, hash: h, ids: out[before...])
            }
        }
    }

    /// BPE on one pre-token: lowest-rank adjacent pair first, leftmost on ties.
    @inline(__always)
    private func merge(_ word: UnsafeBufferPointer<UInt8>, byteIds: UnsafeBufferPointer<Int32>,
                       into out: inout [Int32]) {
        let n = word.count
        if n > 48 { mergeLong(word, byteIds: byteIds, into: &out); return }
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: n) { ids in
            for i in 0..<n { ids[i] = byteIds[Int(word[i])] }
            var count = n
            while count > 1 {
                var bestRank = Int32.max, bestAt = -1
                for i in 0..<(count - 1) {
                    let r = pairs.rank(ids[i], ids[i + 1])
                    if r < bestRank { bestRank = r; bestAt = i }
                }
                if bestAt < 0 { break }
                ids[bestAt] = 256 + bestRank
                for i in (bestAt + 1)..<(count - 1) { ids[i] = ids[i + 1] }
                count -= 1
            }
            for i in 0..<count { out.append(ids[i]) }
        }
    }

    /// The same merges in O(n log n) for long pieces (a run of thousands of letters or spaces would
    /// be quadratic above): a linked list of tokens and a min-heap of (rank, position) candidates,
    /// stale entries skipped when popped.
    private func mergeLong(_ word: UnsafeBufferPointer<UInt8>, byteIds: UnsafeBufferPointer<Int32>,
                           into out: inout [Int32]) {
        let n = word.count
        var ids = (0..<n).map { byteIds[Int(word[$0])] }
        var next = Array(1...n)          // n = end
        var prev = Array(-1..<(n - 1))
        // Candidates as rank << 32 | position: one compare orders by rank, then leftmost first.
        var heap = BinaryHeap<UInt64>()
        @inline(__always) func candidate(_ rank: Int32, _ position: Int) -> UInt64 {
            UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(UInt32(truncatingIfNeeded: position))
        }
        for i in 0..<(n - 1) {
            let r = pairs.rank(ids[i], ids[i + 1])
            if r != Int32.max { heap.push(candidate(r, i)) }
        }
        while let top = heap.pop() {
            let rank = Int32(truncatingIfNeeded: top >> 32), pos = Int(top & 0xFFFF_FFFF)
            guard ids[pos] >= 0 else { continue }            // merged into its left neighbour
            let right = next[pos]
            guard right < n, pairs.rank(ids[pos], ids[right]) == rank else { continue }  // stale
            ids[pos] = 256 + rank
            ids[right] = -1
            next[pos] = next[right]
            if next[right] < n { prev[next[right]] = pos }
            if prev[pos] >= 0 {
                let r = pairs.rank(ids[prev[pos]], ids[pos])
                if r != Int32.max { heap.push(candidate(r, prev[pos])) }
            }
            if next[pos] < n {
                let r = pairs.rank(ids[pos], ids[next[pos]])
                if r != Int32.max { heap.push(candidate(r, pos)) }
            }
        }
        var i = 0
        while i < n { out.append(ids[i]); i = next[i] }
    }

    // MARK: decoding

    public func decodeBytes(_ ids: [Int32]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(ids.count * 4)
        let n = Int32(tokenBytes.count)
        for id in ids {
            if id >= 0 && id < n { out += tokenBytes[Int(id)] } else { out += [0xEF, 0xBF, 0xBD] }
        }
        return out
    }

    /// The bytes of one token (empty for ids outside the vocabulary).
    public func bytes(of id: Int32) -> [UInt8] {
        id >= 0 && Int(id) < tokenBytes.count ? tokenBytes[Int(id)] : []
    }
}

/// Merge ranks by (left, right) id pair: open addressing, linear probing, multiplicative hash.
struct PairTable: @unchecked Sendable {  // immutable once built
    private var keys: [UInt64]
    private var ranks: [Int32]
    private let mask: Int
    private static let empty = UInt64.max

    init(capacity: Int) {
        var size = 16
        while size < 2 * capacity + 1 { size <<= 1 }
        keys = [UInt64](repeating: Self.empty, count: size)
        ranks = [Int32](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always)
    private func slot(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask }

    /// Inserts; false if the pair is already present.
    mutating func insert(left: Int32, right: Int32, rank: Int32) -> Bool {
        let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
        var s = slot(key)
        while keys[s] != Self.empty {
            if keys[s] == key { return false }
            s = (s + 1) & mask
        }
        keys[s] = key
        ranks[s] = rank
        return true
    }

    /// The merge rank of (left, right), or Int32.max.
    @inline(__always)
    func rank(_ left: Int32, _ right: Int32) -> Int32 {
        let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
        return keys.withUnsafeBufferPointer { k in
            var s = slot(key)
            while true {
                let v = k[s]
                if v == key { return ranks.withUnsafeBufferPointer { $0[s] } }
                if v == Self.empty { return Int32.max }
                s = (s + 1) & mask
            }
        }
    }
}
