import Foundation
import XCTest
import Kernels
import NN

/// Temperature, top-k and top-p on a hand-made distribution whose filtered results are worked out
/// by hand in each test.
final class SamplerTests: XCTestCase {
    // Token probabilities 0.05, 0.4, 0.1, 0.25, 0.2; sorted: 1 (0.4), 3 (0.25), 4 (0.2), 2 (0.1), 0 (0.05).
    static let probs: [Double] = [0.05, 0.4, 0.1, 0.25, 0.2]
    static let logits: [Float] = probs.map { Float(log($0)) }

    private func assertDistribution(_ options: SamplingOptions, _ expected: [Double],
                                    file: StaticString = #filePath, line: UInt = #line) {
        let got = samplingDistribution(Self.logits, options: options)
        XCTAssertEqual(got.count, expected.count, file: file, line: line)
        for (i, (g, e)) in zip(got, expected).enumerated() {
            XCTAssertEqual(g, e, accuracy: 1e-6, "token \(i) under \(options)", file: file, line: line)
            if e == 0 { XCTAssertEqual(g, 0, "token \(i) must be filtered out", file: file, line: line) }
        }
    }

    func testTemperature() {
        assertDistribution(SamplingOptions(temperature: 1), Self.probs)
        // softmax(log p / 2) ∝ √p
        let roots = Self.probs.map { $0.squareRoot() }
        assertDistribution(SamplingOptions(temperature: 2), roots.map { $0 / roots.reduce(0, +) })
        // Temperature 0 is greedy: all mass on the argmax.
        assertDistribution(SamplingOptions(temperature: 0), [0, 1, 0, 0, 0])
    }

    func testTopK() {
        assertDistribution(SamplingOptions(topK: 1), [0, 1, 0, 0, 0])
        assertDistribution(SamplingOptions(topK: 2), [0, 0.4 / 0.65, 0, 0.25 / 0.65, 0])
        assertDistribution(SamplingOptions(topK: 3), [0, 0.4 / 0.85, 0, 0.25 / 0.85, 0.2 / 0.85])
        assertDistribution(SamplingOptions(topK: 5), Self.probs)
        assertDistribution(SamplingOptions(topK: 50), Self.probs)
        // Ties keep exactly k, preferring the lower token id.
        let tied = samplingDistribution([1, 3, 3, 0, 3], options: SamplingOptions(topK: 2))
        XCTAssertEqual(tied.map { $0 > 0 }, [false, true, true, false, false])
    }

    func testTopP() {
        assertDistribution(SamplingOptions(topP: 0.3), [0, 1, 0, 0, 0])                      // 0.4 ≥ 0.3
        assertDistribution(SamplingOptions(topP: 0.6), [0, 0.4 / 0.65, 0, 0.25 / 0.65, 0])   // 0.65 ≥ 0.6
        assertDistribution(SamplingOptions(topP: 0.8), [0, 0.4 / 0.85, 0, 0.25 / 0.85, 0.2 / 0.85])
        assertDistribution(SamplingOptions(topP: 0.9), [0, 0.4 / 0.95, 0.1 / 0.95, 0.25 / 0.95, 0.2 / 0.95])
        assertDistribution(SamplingOptions(topP: 1), Self.probs)
    }

    func testTopKThenTopPThenTemperatureOrder() {
        // top-3 renormalised: 0.4/0.85 ≈ 0.47, +0.25/0.85 ≈ 0.76 ≥ 0.7: two tokens survive.
        assertDistribution(SamplingOptions(topK: 3, topP: 0.7), [0, 0.4 / 0.65, 0, 0.25 / 0.65, 0])
        // Temperature applies before top-p: at T = 2 the top two hold only ≈ 0.53 of the mass, so a
        // third token is needed to reach 0.6.
        let roots = Self.probs.map { $0.squareRoot() }
        let z = roots[1] + roots[3] + roots[4]
        assertDistribution(SamplingOptions(temperature: 2, topP: 0.6), [0, roots[1] / z, 0, roots[3] / z, roots[4] / z])
    }

    func testDrawsFollowTheFilteredDistribution() {
        var sampler = Sampler(options: SamplingOptions(topK: 3), seed: 99)
        var counts = [Int](repeating: 0, count: 5)
        let n = 40_000
        for _ in 0..<n { counts[Int(sampler.next(Self.logits))] += 1 }
        XCTAssertEqual(counts[0], 0)
        XCTAssertEqual(counts[2], 0)
        // Binomial standard error ≤ √(0.25/n) = 0.0025: allow 4 of them.
        for (i, p) in [(1, 0.4 / 0.85), (3, 0.25 / 0.85), (4, 0.2 / 0.85)] {
            XCTAssertEqual(Double(counts[i]) / Double(n), p, accuracy: 0.01, "token \(i)")
        }
    }

    func testSeededDeterminismAndGreedyDrawsNothing() {
        func draws(_ seed: UInt64) -> [Int32] {
            var s = Sampler(options: SamplingOptions(temperature: 1.3, topP: 0.95), seed: seed)
            return (0..<200).map { _ in s.next(Self.logits) }
        }
        XCTAssertEqual(draws(1), draws(1))
        XCTAssertNotEqual(draws(1), draws(2))
        var greedy = Sampler(options: SamplingOptions(temperature: 0, topK: 3), seed: 5)
        XCTAssertEqual((0..<10).map { _ in greedy.next(Self.logits) }, Array(repeating: 1, count: 10))
        XCTAssertEqual(greedy.rng, RandomGenerator(seed: 5))
        // Greedy ties go to the lower token id.
        XCTAssertEqual(greedy.next([0, 2, 5, 5, 1]), 2)
    }

    func testOptionValidation() {
        func message(_ o: SamplingOptions) -> String? {
            do { try o.validate(); return nil } catch { return "\(error)" }
        }
        XCTAssertNil(message(SamplingOptions(temperature: 0, topK: 1, topP: 1)))
        XCTAssertEqual(message(SamplingOptions(temperature: -0.5)),
                       "temperature must be a finite number >= 0, got -0.5")
        XCTAssertEqual(message(SamplingOptions(temperature: .infinity)),
                       "temperature must be a finite number >= 0, got inf")
        XCTAssertEqual(message(SamplingOptions(topK: 0)), "top-k must be at least 1, got 0")
        XCTAssertEqual(message(SamplingOptions(topP: 0)), "top-p must be in (0, 1], got 0.0")
        XCTAssertEqual(message(SamplingOptions(topP: 1.5)), "top-p must be in (0, 1], got 1.5")
    }
}
