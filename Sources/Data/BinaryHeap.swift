// A binary min-heap over an array: the smallest element (by `<`) pops first. Generic over a concrete
// Comparable element, so inside this module each use is specialised (no protocol dispatch in the
// sift loops, which run on the array's raw buffer). BPE encoding pops merge candidates by
// (rank, position); BPE training pops the most frequent pair (see PairCandidate).

struct BinaryHeap<Element: Comparable> {
    private var items: [Element] = []

    var isEmpty: Bool { items.isEmpty }

    mutating func push(_ element: Element) {
        items.append(element)
        items.withUnsafeMutableBufferPointer { h in
            var i = h.count - 1
            while i > 0 {
                let parent = (i - 1) / 2
                if !(h[i] < h[parent]) { break }
                h.swapAt(i, parent)
                i = parent
            }
        }
    }

    /// Removes and returns the smallest element, or nil when empty.
    mutating func pop() -> Element? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return top }
        items.withUnsafeMutableBufferPointer { h in
            h[0] = last
            let n = h.count
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < n && h[l] < h[m] { m = l }
                if r < n && h[r] < h[m] { m = r }
                if m == i { break }
                h.swapAt(m, i)
                i = m
            }
        }
        return top
    }
}
