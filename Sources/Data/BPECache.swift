// Cache of pre-token bytes -> BPE ids, so each distinct word is merged once per encoder thread.
// Open addressing over a byte arena (no per-word allocation); cleared when it grows past its budget.

final class BPECache {
    private var slots: [Int32]          // entry index + 1; 0 = empty
    private var hashes: [UInt64] = []
    private var keyStart: [Int32] = []
    private var keyLength: [Int32] = []
    private var idStart: [Int32] = []
    private var idLength: [Int32] = []
    private var keyBytes: [UInt8] = []
    private var idArena: [Int32] = []
    private var mask: Int
    private let maxEntries: Int

    init(maxEntries: Int = 1 << 18) {
        self.maxEntries = maxEntries
        slots = [Int32](repeating: 0, count: 1 << 8)
        mask = (1 << 8) - 1
    }

    /// 64-bit hash of bytes, 8 at a time (a multiply-xorshift mix; quality is ample for a cache).
    @inline(__always)
    static func hash(_ p: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0x243F_6A88_85A3_08D3 ^ UInt64(p.count)
        var i = 0
        let base = UnsafeRawPointer(p.baseAddress!)
        while i + 8 <= p.count {
            h = (h ^ base.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x9E37_79B9_7F4A_7C15
            h ^= h >> 29
            i += 8
        }
        if i < p.count {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < p.count { tail |= UInt64(p[i]) << shift; shift += 8; i += 1 }
            h = (h ^ tail) &* 0x9E37_79B9_7F4A_7C15
            h ^= h >> 29
        }
        return h &* 0xBF58_476D_1CE4_E5B9
    }

    /// Appends the cached ids of `word` to `out` and returns true, or returns false.
    @inline(__always)
    func lookup(_ word: UnsafeBufferPointer<UInt8>, hash h: UInt64, into out: inout [Int32]) -> Bool {
        var s = Int(truncatingIfNeeded: h >> 40) & mask
        while true {
            let e = Int(slots[s]) - 1
            if e < 0 { return false }
            if hashes[e] == h && Int(keyLength[e]) == word.count && matches(word, e) {
                let a = Int(idStart[e]), n = Int(idLength[e])
                idArena.withUnsafeBufferPointer { ids in
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: ids[a..<(a + n)]))
                }
                return true
            }
            s = (s + 1) & mask
        }
    }

    @inline(__always)
    private func matches(_ word: UnsafeBufferPointer<UInt8>, _ e: Int) -> Bool {
        let a = Int(keyStart[e])
        return keyBytes.withUnsafeBufferPointer { k in
            for i in 0..<word.count where k[a + i] != word[i] { return false }
            return true
        }
    }

    func insert(_ word: UnsafeBufferPointer<UInt8>, hash h: UInt64, ids: ArraySlice<Int32>) {
        if hashes.count >= maxEntries { clear() }
        if (hashes.count + 1) * 2 > slots.count { grow() }
        let e = hashes.count
        hashes.append(h)
        keyStart.append(Int32(keyBytes.count))
        keyLength.append(Int32(word.count))
        idStart.append(Int32(idArena.count))
        idLength.append(Int32(ids.count))
        keyBytes.append(contentsOf: word)
        idArena.append(contentsOf: ids)
        place(e)
        // Keep the arenas within Int32 offsets and a bounded memory budget.
        if keyBytes.count > 64 << 20 || idArena.count > 16 << 20 { clear() }
    }

    private func place(_ e: Int) {
        var s = Int(truncatingIfNeeded: hashes[e] >> 40) & mask
        while slots[s] != 0 { s = (s + 1) & mask }
        slots[s] = Int32(e + 1)
    }

    private func grow() {
        let size = slots.count * 2
        slots = [Int32](repeating: 0, count: size)
        mask = size - 1
        for e in 0..<hashes.count { place(e) }
    }

    private func clear() {
        hashes.removeAll(keepingCapacity: true)
        keyStart.removeAll(keepingCapacity: true)
        keyLength.removeAll(keepingCapacity: true)
        idStart.removeAll(keepingCapacity: true)
        idLength.removeAll(keepingCapacity: true)
        keyBytes.removeAll(keepingCapacity: true)
        idArena.removeAll(keepingCapacity: true)
        for i in slots.indices { slots[i] = 0 }
    }
}
