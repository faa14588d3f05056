import Data
import Foundation
import Kernels
import XCTest

final class BatchSamplerTests: XCTestCase {
    /// Tokens 0..<n (mod 60000) split over shards of the given sizes.
    func dataset(_ sizes: [Int], in dir: ScratchDirectory) throws -> TokenShardDataset {
        var next = 0
        var urls: [URL] = []
        for (i, s) in sizes.enumerated() {
            let u = dir.file("train_\(String(format: "%06d", i)).bin")
            try TokenShardWriter.write((next..<(next + s)).map { Int32($0 % 60000) }, to: u, width: .uint16)
            next += s
            urls.append(u)
        }
        return try TokenShardDataset(shardURLs: urls)
    }

    func testRandomWindowsAreContiguousAndCoverTheWholeRange() throws {
        let dir = ScratchDirectory()
        let d = try dataset([50, 7, 43], in: dir)
        var s = try BatchSampler(dataset: d, batchSize: 4, blockSize: 8, mode: .random)
        var rng = RandomGenerator(seed: 1)
        var starts = Set<Int32>()
        for _ in 0..<200 {
            let b = s.next(rng: &rng)
            XCTAssertEqual(b.inputs.count, 32)
            for r in 0..<4 {
                let x = Array(b.inputs[(r * 8)..<(r * 8 + 8)]), y = Array(b.targets[(r * 8)..<(r * 8 + 8)])
                XCTAssertEqual(x, (0..<8).map { x[0] + Int32($0) }, "window is the data in order (crossing shards)")
                XCTAssertEqual(y, x.map { $0 + 1 }, "targets are inputs shifted by one")
                XCTAssert(x[0] >= 0 && x[0] <= 100 - 9)
                starts.insert(x[0])
            }
        }
        XCTAssertEqual(starts.count, 92, "every start offset 0...N-T-1 is drawn (nanoGPT's randint(len - block_size))")
        XCTAssertEqual(s.state.batches, 200)
    }

    func testSameSeedSameBatchesBitForBit() throws {
        let dir = ScratchDirectory()
        let d = try dataset([1000, 24], in: dir)
        func run(seed: UInt64) throws -> [Batch] {
            var s = try BatchSampler(dataset: d, batchSize: 3, blockSize: 16, mode: .random)
            var rng = RandomGenerator(seed: seed)
            return (0..<20).map { _ in s.next(rng: &rng) }
        }
        XCTAssertEqual(try run(seed: 7), try run(seed: 7))
        XCTAssertNotEqual(try run(seed: 7), try run(seed: 8))
    }

    func testSequentialOrderAndEpochWrap() throws {
        let dir = ScratchDirectory()
        let d = try dataset([10, 3], in: dir)  // tokens 0..<13
        var s = try BatchSampler(dataset: d, batchSize: 2, blockSize: 4, mode: .sequential)
        var rng = RandomGenerator(seed: 1)
        let b1 = s.next(rng: &rng)
        XCTAssertEqual(b1.inputs, [0, 1, 2, 3, 4, 5, 6, 7])
        XCTAssertEqual(b1.targets, [1, 2, 3, 4, 5, 6, 7, 8])
        // Row at 8 would need tokens 8...12: fits exactly; the next row wraps to a new epoch.
        let b2 = s.next(rng: &rng)
        XCTAssertEqual(b2.inputs, [8, 9, 10, 11, 0, 1, 2, 3])
        XCTAssertEqual(b2.targets, [9, 10, 11, 12, 1, 2, 3, 4])
        XCTAssertEqual(s.state, SamplerState(mode: .sequential, position: 4, epoch: 1, batches: 2))
        XCTAssertEqual(rng, RandomGenerator(seed: 1), "sequential mode does not consume randomness")
    }

    func testResumeFromSavedStateReplaysTheSameBatches() throws {
        let dir = ScratchDirectory()
        let d = try dataset([300, 200], in: dir)
        for mode in [SamplingMode.random, .sequential] {
            var s = try BatchSampler(dataset: d, batchSize: 4, blockSize: 32, mode: mode)
            var rng = RandomGenerator(seed: 42)
            for _ in 0..<5 { _ = s.next(rng: &rng) }
            // What a checkpoint stores: the sampler state and the generator state, as JSON.
            let savedState = try JSONEncoder().encode(s.state)
            let savedRNG = try JSONEncoder().encode(rng)
            let unbroken = (0..<10).map { _ in s.next(rng: &rng) }

            var resumed = try BatchSampler(dataset: d, batchSize: 4, blockSize: 32, mode: mode)
            try resumed.restore(try JSONDecoder().decode(SamplerState.self, from: savedState))
            var rng2 = try JSONDecoder().decode(RandomGenerator.self, from: savedRNG)
            let replay = (0..<10).map { _ in resumed.next(rng: &rng2) }
            XCTAssertEqual(replay, unbroken, "\(mode)")
            XCTAssertEqual(resumed.state, s.state)
        }
        let state = SamplerState(mode: .sequential, position: 3, epoch: 1, batches: 9)
        let json = String(decoding: try JSONEncoder().encode(state), as: UTF8.self)
        for key in ["\"mode\":\"sequential\"", "\"position\":3", "\"epoch\":1", "\"batches\":9"] {
            XCTAssert(json.contains(key), json)
        }
    }

    func testTooSmallSplitAndBadRestoreAreErrors() throws {
        let dir = ScratchDirectory()
        let d = try dataset([5], in: dir)
        assertThrows(["val split", "5 tokens", "at least 9"]) {
            try BatchSampler(dataset: d, batchSize: 1, blockSize: 8, mode: .random, name: "val split")
        }
        var s = try BatchSampler(dataset: d, batchSize: 1, blockSize: 4, mode: .sequential)
        assertThrows(["position 99"]) { try s.restore(SamplerState(mode: .sequential, position: 99)) }
    }
}
