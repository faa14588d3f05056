// Wall-clock timing helpers for the benchmarks: median of repeated runs after warm-up.
import Foundation

@inline(never)
func seconds(_ body: () -> Void) -> Double {
    let t0 = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
}

/// Median time of `body` over `repeats` runs (after `warmup` untimed runs). Repeats adapt so that
/// short operations are timed over at least ~0.2 s in total.
func medianSeconds(warmup: Int = 2, repeats: Int = 0, _ body: () -> Void) -> Double {
    for _ in 0..<warmup { body() }
    var n = repeats
    if n == 0 {
        let once = max(seconds(body), 1e-7)
        n = max(5, min(200, Int(0.2 / once)))
    }
    var times: [Double] = []
    times.reserveCapacity(n)
    for _ in 0..<n { times.append(seconds(body)) }
    times.sort()
    return times[times.count / 2]
}

func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
}

func lpad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
}

func fmt(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }
