// Trains a byte-level BPE on a corpus: pre-tokenise with GPT-2's pattern and count each distinct
// piece once, then repeatedly merge the most frequent adjacent pair (ties: the smaller (left, right)
// ids), updating pair counts only in the words that contain the merged pair. A heap of candidates
// (most frequent first) with lazy deletion finds the best pair. Ids: bytes 0...255 as themselves,
// merge i -> 256 + i, then <|endoftext|>. Training stops early only when every distinct piece has
// become a single token.
import Foundation

public final class BytePairTrainer {
    public static let minimumVocabSize = 257          // 256 bytes + <|endoftext|>
    public static let maximumVocabSize = 1 << 20

    private var counter = WordCounter()

    public init() {}

    public func add(_ text: String) {
        var s = text
        s.withUTF8 { add(utf8: $0) }
    }

    /// Counts the pre-tokens of valid UTF-8 bytes.
    func add(utf8 p: UnsafeBufferPointer<UInt8>) {
        GPT2PreTokenizer.forEachPiece(p) { r in counter.add(UnsafeBufferPointer(rebasing: p[r]), count: 1) }
    }

    /// Adds another trainer's counts (per-thread counting).
    func merge(_ other: BytePairTrainer) { counter.merge(other.counter) }

    public var distinctWords: Int { counter.count }

    /// Learns `vocabSize - 257` merges (fewer only if the corpus runs out of pairs).
    /// `progress(done, total)` is called every 64 merges.
    public func train(vocabSize: Int, progress: (Int, Int) -> Void = { _, _ in }) throws -> BytePairTokenizer {
        precondition(vocabSize >= Self.minimumVocabSize && vocabSize <= Self.maximumVocabSize,
                     "BytePairTrainer.train: vocabSize \(vocabSize) outside "
                     + "\(Self.minimumVocabSize)...\(Self.maximumVocabSize)")
        let wanted = vocabSize - Self.minimumVocabSize
        // Words as symbol sequences with their counts.
        var words: [[Int32]] = []
        var counts: [Int] = []
        words.reserveCapacity(counter.count)
        counter.forEach { bytes, count in
            guard bytes.count > 1 else { return }  // single bytes never merge
            words.append(bytes.map { Int32($0) })
            counts.append(count)
        }
        var pairCount: [UInt64: Int] = [:]
        var wordsWith: [UInt64: [Int32]] = [:]    // pair -> word indices (may hold stale entries)
        @inline(__always) func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(a)) << 32 | UInt64(UInt32(b)) }
        for (w, sym) in words.enumerated() {
            for i in 0..<(sym.count - 1) {
                let k = key(sym[i], sym[i + 1])
                pairCount[k, default: 0] += counts[w]
                if wordsWith[k]?.last != Int32(w) { wordsWith[k, default: []].append(Int32(w)) }
            }
        }
        var heap = BinaryHeap<PairCandidate>()
        for (k, c) in pairCount { heap.push(PairCandidate(count: c, pair: k)) }

        var merges: [(Int32, Int32)] = []
        merges.reserveCapacity(wanted)
        while merges.count < wanted {
            var top = heap.pop()
            while let t = top, pairCount[t.pair] != t.count { top = heap.pop() }  // skip stale entries
            guard let best = top?.pair else { break }
            let a = Int32(truncatingIfNeeded: best >> 32), b = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
            let newId = Int32(256 + merges.count)
            merges.append((a, b))
            var touched: [UInt64: Int] = [:]   // pair -> count change, applied after the pass
            for w32 in wordsWith[best] ?? [] {
                let w = Int(w32)
                let sym = words[w]
                guard sym.count >= 2 else { continue }
                var found = false
                for i in 0..<(sym.count - 1) where sym[i] == a && sym[i + 1] == b { found = true; break }
                guard found else { continue }  // stale entry
                let c = counts[w]
                for i in 0..<(sym.count - 1) { touched[key(sym[i], sym[i + 1]), default: 0] -= c }
                var merged: [Int32] = []
                merged.reserveCapacity(sym.count)
                var i = 0
                while i < sym.count {
                    if i + 1 < sym.count && sym[i] == a && sym[i + 1] == b {
                        merged.append(newId); i += 2
                    } else {
                        merged.append(sym[i]); i += 1
                    }
                }
                for j in 0..<max(0, merged.count - 1) {
                    let k = key(merged[j], merged[j + 1])
                    touched[k, default: 0] += c
                    if merged[j] == newId || merged[j + 1] == newId {
                        if wordsWith[k]?.last != w32 { wordsWith[k, default: []].append(w32) }
                    }
                }
                words[w] = merged
            }
            wordsWith[best] = nil
            for (k, d) in touched where d != 0 {
                let n = (pairCount[k] ?? 0) + d
                if n > 0 { pairCount[k] = n; heap.push(PairCandidate(count: n, pair: k)) } else { pairCount[k] = nil }
            }
            if merges.count % 64 == 0 { progress(merges.count, wanted) }
        }
        progress(merges.count, wanted)
        return try BytePairTokenizer(type: BytePairTokenizer.trainedTypeName, byteIds: (0..<256).map { Int32($0) },
                                     merges: merges,
                                     specialTokens: [BytePairTokenizer.endOfText: Int32(256 + merges.count)])
    }
}

/// A merge candidate in the heap: highest count first, then the smaller pair key. Entries go stale
/// when a pair's count changes; the trainer skips those whose count no longer matches.
struct PairCandidate: Comparable {
    let count: Int
    let pair: UInt64

    static func < (x: PairCandidate, y: PairCandidate) -> Bool {
        x.count > y.count || (x.count == y.count && x.pair < y.pair)
    }
}

/// Distinct byte strings and how often each occurs (open addressing over a byte arena).
struct WordCounter {
    private var slots = [Int32](repeating: 0, count: 1 << 12)  // entry + 1
    private var mask = (1 << 12) - 1
    private var hashes: [UInt64] = []
    private var starts: [Int] = []
    private var lengths: [Int32] = []
    private var counts: [Int] = []
    private var bytes: [UInt8] = []

    var count: Int { hashes.count }

    mutating func add(_ word: UnsafeBufferPointer<UInt8>, count c: Int) {
        let h = BPECache.hash(word)
        var s = Int(truncatingIfNeeded: h >> 40) & mask
        while true {
            let e = Int(slots[s]) - 1
            if e < 0 { break }
            if hashes[e] == h && Int(lengths[e]) == word.count {
                let a = starts[e]
                var same = true
                bytes.withUnsafeBufferPointer { b in
                    for i in 0..<word.count where b[a + i] != word[i] { same = false; break }
                }
                if same { counts[e] += c; return }
            }
            s = (s + 1) & mask
        }
        let e = hashes.count
        hashes.append(h)
        starts.append(bytes.count)
        lengths.append(Int32(word.count))
        counts.append(c)
        bytes.append(contentsOf: word)
        slots[s] = Int32(e + 1)
        if hashes.count * 2 > slots.count { grow() }
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [Int32](repeating: 0, count: size)
        mask = size - 1
        for e in 0..<hashes.count {
            var s = Int(truncatingIfNeeded: hashes[e] >> 40) & mask
            while slots[s] != 0 { s = (s + 1) & mask }
            slots[s] = Int32(e + 1)
        }
    }

    /// Visits every distinct word in first-seen order.
    func forEach(_ body: (ArraySlice<UInt8>, Int) -> Void) {
        for e in 0..<hashes.count { body(bytes[starts[e]..<(starts[e] + Int(lengths[e]))], counts[e]) }
    }

    mutating func merge(_ other: WordCounter) {
        other.forEach { w, c in
            w.withUnsafeBufferPointer { add($0, count: c) }
        }
    }
}
