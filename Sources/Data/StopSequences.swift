// Ending streamed text at a stop string (`tinygpt sample --stop`): text that might be the start of a
// stop string is held back until the next pieces show whether it is, so the stop string itself is
// never printed.
import Foundation

public struct StopSequences {
    public let stops: [String]
    private var pending = ""
    /// True once a stop string has been seen; everything from it on is dropped.
    public private(set) var stopped = false

    public init(_ stops: [String]) { self.stops = stops.filter { !$0.isEmpty } }

    /// The part of `text` (after what was held back) that can be shown now.
    public mutating func push(_ text: String) -> String {
        guard !stopped else { return "" }
        pending += text
        if let cut = stops.compactMap({ pending.range(of: $0)?.lowerBound }).min() {
            stopped = true
            defer { pending = "" }
            return String(pending[..<cut])
        }
        var hold = 0
        for stop in stops {
            for k in stride(from: min(stop.count - 1, pending.count), to: 0, by: -1)
            where pending.hasSuffix(String(stop.prefix(k))) {
                hold = max(hold, k)
                break
            }
        }
        let shown = String(pending.dropLast(hold))
        pending = String(pending.suffix(hold))
        return shown
    }

    /// What is still held back when the stream ends without a stop string.
    public mutating func finish() -> String {
        defer { pending = "" }
        return stopped ? "" : pending
    }
}
