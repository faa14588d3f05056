// A token stream made of memory-mapped shards read in order (the shards of one split, e.g.
// train_000000.bin, train_000001.bin, ...). Windows may cross shard boundaries: the split is one
// sequence that happens to be stored in several files, as llm.c's loader treats it.
import Foundation

public final class TokenShardDataset: @unchecked Sendable {  // immutable after init
    public let shards: [TokenShard]
    /// starts[i] = global offset of shards[i]'s first token; starts.last = total count.
    private let starts: [Int]

    public var count: Int { starts[starts.count - 1] }

    /// Maps every shard; throws on the first missing or malformed one.
    public init(shardURLs: [URL]) throws {
        precondition(!shardURLs.isEmpty, "TokenShardDataset: needs at least one shard")
        shards = try shardURLs.map { try TokenShard(url: $0) }
        var s = [0]
        for sh in shards { s.append(s[s.count - 1] + sh.count) }
        starts = s
    }

    /// Throws if any token is outside 0..<vocabSize (a shard made with another tokenizer).
    public func validate(vocabSize: Int) throws {
        for sh in shards {
            if let (i, t) = sh.firstTokenOutside(vocabSize: vocabSize) {
                throw DataError.tokenOutOfRange(path: sh.url.path, index: i, token: t, vocabSize: vocabSize)
            }
        }
    }

    /// Index of the shard holding global token `offset`.
    @inline(__always)
    private func shardIndex(containing offset: Int) -> Int {
        var lo = 0, hi = shards.count - 1
        while lo < hi {  // last shard whose start <= offset
            let mid = (lo + hi + 1) / 2
            if starts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        // Skip empty shards that share a start with the next one.
        while lo < shards.count - 1 && starts[lo + 1] <= offset { lo += 1 }
        return lo
    }

    /// Copies tokens[start..<start+n] (global offsets, across shards) into `out`.
    public func copy(from start: Int, count n: Int, into out: UnsafeMutablePointer<Int32>) {
        precondition(start >= 0 && n >= 0 && start + n <= count,
                     "TokenShardDataset.copy: range \(start)..<\(start + n) out of 0..<\(count)")
        var done = 0
        var s = shardIndex(containing: start)
        while done < n {
            let local = start + done - starts[s]
            let take = min(n - done, shards[s].count - local)
            if take > 0 { shards[s].copy(from: local, count: take, into: out + done) }
            done += take
            s += 1
        }
    }

    public subscript(i: Int) -> Int32 {
        let s = shardIndex(containing: i)
        return shards[s][i - starts[s]]
    }

    /// tokens[start..<start+n] as an array.
    public func tokens(from start: Int, count n: Int) -> [Int32] {
        [Int32](unsafeUninitializedCapacity: n) { buf, initialized in
            if n > 0 { copy(from: start, count: n, into: buf.baseAddress!) }
            initialized = n
        }
    }
}
