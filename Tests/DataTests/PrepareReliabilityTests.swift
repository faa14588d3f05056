import Data
import Foundation
import XCTest

/// prepare over an existing dataset whose source changed in place (same path, same size): the stored
/// sha256 tells it apart, so it is refused without --overwrite.
final class PrepareReliabilityTests: XCTestCase {
    func testASourceEditedInPlaceWithTheSameSizeIsADifferentDataset() throws {
        let dir = ScratchDirectory()
        let a = dir.write("a.txt", "some text for a dataset\n")
        let out = dir.file("out")
        let first = try DatasetPreparer.prepare(PrepareOptions(inputs: [a], tokenizer: .char, output: out))
        _ = dir.write("a.txt", "same size, other text!!\n")
        XCTAssertThrowsError(try DatasetPreparer.prepare(PrepareOptions(inputs: [a], tokenizer: .char, output: out))) {
            XCTAssertTrue("\($0)".contains("already holds a different dataset"), "\($0)")
        }
        XCTAssertEqual(try DatasetDirectory(out).loadManifest(), first, "a refused prepare changes nothing")
    }

    /// A prepare that fails late (invalid UTF-8 at byte 15000) leaves the dataset it was replacing whole,
    /// with --overwrite too; a successful one replaces it and leaves no staging directory.
    func testAFailingPrepareKeepsTheExistingDataset() throws {
        let dir = ScratchDirectory()
        let good = dir.write("good.txt", String(repeating: "a good line of text\n", count: 100))
        let out = dir.file("out")
        let first = try DatasetPreparer.prepare(PrepareOptions(inputs: [good], tokenizer: .char, output: out))
        let before = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        let bad = dir.write("bad.txt", bytes: Array(String(repeating: "x", count: 15000).utf8) + [0xFF, 0x0A])
        var o = PrepareOptions(inputs: [bad], tokenizer: .char, output: out)
        o.overwrite = true
        XCTAssertThrowsError(try DatasetPreparer.prepare(o)) {
            XCTAssertTrue("\($0)".contains("invalid UTF-8 at byte offset 15000"), "\($0)")
        }
        XCTAssertEqual(try DatasetDirectory(out).loadManifest(), first)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted(), before)
        let d = try DatasetDirectory(out)
        XCTAssertGreaterThan(try d.trainDataset(vocabSize: first.vocabSize).count, 0)

        var replace = PrepareOptions(inputs: [dir.write("other.txt", String(repeating: "other words\n", count: 50))],
                                     tokenizer: .char, output: out)
        replace.overwrite = true
        let second = try DatasetPreparer.prepare(replace)
        XCTAssertEqual(try DatasetDirectory(out).loadManifest(), second)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent(".prepare-staging").path))
    }
}
