// A cache of freed 64-byte-aligned float buffers, reused by later allocations of the same size class.
// A training step allocates the same activations and gradients every step; without the cache each
// large buffer is a fresh mmap from the C allocator, paid for again in page faults (and zero-filling)
// on first touch, and unmapped when freed. With it, a step reuses the previous step's buffers.
// Size classes: counts are rounded up to 8 classes per power of two (at most 12.5% slack, and the slack
// of a large buffer is never touched, so it never becomes resident). Small buffers (< 4096 floats)
// bypass the cache: malloc serves them well. Idle bytes are capped (by default at the larger of 256 MiB
// and the most bytes ever handed out at once, so a model whose step needs gigabytes keeps them, and a
// workload whose shapes drift cannot hoard more than its own peak); beyond the cap a freed buffer goes
// straight back to the system. Thread-safe (one mutex around the free lists).
#if canImport(Glibc)
import Glibc
#endif

public enum BufferPool {
    /// Counts below this many floats are not cached.
    public static let minimumCount = 4096

    /// Floor of the default cap on idle bytes.
    public static let defaultMinimumCapacity = 256 << 20

    /// A fixed cap on idle bytes, or nil (the default) for max(256 MiB, peak bytes in use).
    /// Setting a lower cap frees idle buffers at once.
    public static var capacityBytes: Int? {
        get { lock(); defer { unlock() }; return fixedCapacity }
        set {
            lock(); defer { unlock() }
            fixedCapacity = newValue.map { max(0, $0) }
            trimLocked(to: capacityLocked)
        }
    }

    /// The most bytes of cached-size buffers handed out at once so far.
    public static var peakBytesInUse: Int { lock(); defer { unlock() }; return peakLive }

    /// Bytes currently held idle.
    public static var idleBytes: Int { lock(); defer { unlock() }; return idle }

    /// Frees every idle buffer (e.g. after training, before a long phase that needs less memory).
    public static func drain() {
        lock(); defer { unlock() }
        trimLocked(to: 0)
    }

    /// The size class of `count` floats: the capacity actually allocated for it.
    @inline(__always)
    public static func classCount(_ count: Int) -> Int {
        if count < minimumCount { return max(count, 1) }
        // Keep the top 4 significant bits (8 classes per power of two), rounding up.
        let shift = (Int.bitWidth - 1 - count.leadingZeroBitCount) - 3
        let unit = 1 << shift
        return (count + unit - 1) & ~(unit - 1)
    }

    /// A buffer of at least `count` floats (its class count), zero-filled over `count` when `zeroed`.
    public static func take(_ count: Int, zeroed: Bool) -> UnsafeMutablePointer<Float> {
        let cls = classCount(count)
        if cls >= minimumCount {
            let bytes = cls * MemoryLayout<Float>.stride
            lock()
            let p = free[cls]?.popLast()
            if p != nil { idle -= bytes }
            live += bytes
            if live > peakLive { peakLive = live }
            unlock()
            if let p {
                if zeroed { p.update(repeating: 0, count: max(count, 1)) }
                return p
            }
        }
        return allocateAligned(cls, zeroed: zeroed)
    }

    /// Returns a buffer obtained from `take(count, …)` with the same `count`.
    public static func give(_ p: UnsafeMutablePointer<Float>, count: Int) {
        let cls = classCount(count)
        let bytes = cls * MemoryLayout<Float>.stride
        if cls >= minimumCount {
            lock()
            live -= bytes
            if idle + bytes <= capacityLocked {
                free[cls, default: []].append(p)
                idle += bytes
                unlock()
                return
            }
            unlock()
        }
        deallocateAligned(p)
    }

    // MARK: state (guarded by `mutex`)

    nonisolated(unsafe) private static var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
    nonisolated(unsafe) private static var idle = 0
    nonisolated(unsafe) private static var live = 0
    nonisolated(unsafe) private static var peakLive = 0
    nonisolated(unsafe) private static var fixedCapacity: Int? = nil

    private static var capacityLocked: Int { fixedCapacity ?? max(defaultMinimumCapacity, peakLive) }
    nonisolated(unsafe) private static let mutex: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        return m
    }()

    @inline(__always) private static func lock() { pthread_mutex_lock(mutex) }
    @inline(__always) private static func unlock() { pthread_mutex_unlock(mutex) }

    /// Frees idle buffers, largest classes first, until at most `limit` bytes are idle.
    private static func trimLocked(to limit: Int) {
        if idle <= limit { return }
        for cls in free.keys.sorted(by: >) {
            while idle > limit, let p = free[cls]?.popLast() {
                deallocateAligned(p)
                idle -= cls * MemoryLayout<Float>.stride
            }
            if free[cls]?.isEmpty == true { free[cls] = nil }
            if idle <= limit { return }
        }
    }
}
