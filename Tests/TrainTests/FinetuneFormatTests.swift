import XCTest
import Foundation
import Data
import Kernels
import Train
import Config
import Evaluate
import Planning
import Checkpoint

/// Input formats, answer extraction, metrics and config parsing of fine-tuning (no training).
final class FinetuneFormatTests: XCTestCase {
    let tok = CharTokenizer(corpus: "abcdefghij #:\n{}")

    func testClassificationFormatAddsTaskTokens() throws {
        let f = ClassificationFormat(tokenizer: tok, baseVocabSize: 20, blockSize: 32)
        XCTAssertEqual([f.start, f.delimiter, f.extract], [20, 21, 22])
        let single = try f.encode(text: "abc", textB: nil)
        XCTAssertEqual(single.ids, [20] + tok.encode("abc") + [22])
        XCTAssertFalse(single.truncated)
        let pair = try f.encode(text: "ab", textB: "cd")
        XCTAssertEqual(pair.ids, [20] + tok.encode("ab") + [21] + tok.encode("cd") + [22])
    }

    func testClassificationTruncationKeepsStartDelimiterAndExtract() throws {
        let f = ClassificationFormat(tokenizer: tok, baseVocabSize: 20, blockSize: 8)
        let long = try f.encode(text: "abcdefghij", textB: nil)
        XCTAssertTrue(long.truncated)
        XCTAssertEqual(long.ids, [20] + tok.encode("abcdef") + [22], "keeps the start of the text and the extract " +
                "token")
        // Pair: budget 8 - 3 = 5 tokens; the longer text gives way first, then both alternately.
        let pair = try f.encode(text: "abcdefg", textB: "hi")
        XCTAssertEqual(pair.ids, [20] + tok.encode("abc") + [21] + tok.encode("hi") + [22])
        let even = try f.encode(text: "abcd", textB: "efgh")
        XCTAssertEqual(even.ids.count, 8)
        XCTAssertEqual(even.ids, [20] + tok.encode("ab") + [21] + tok.encode("efg") + [22], "the first text gives " +
                "way first on a tie")
        XCTAssertThrowsError(try f.encode(text: "xyz", textB: nil), "characters outside the tokenizer must throw")
    }

    func testInstructionFormatMasksPromptAndTruncates() throws {
        XCTAssertThrowsError(try InstructionFormat(tokenizer: tok, template: "no placeholder", end: 99,
                                                   blockSize: 16)) { e in
            XCTAssertTrue(String(describing: e).contains("{prompt}"))
        }
        let f = try InstructionFormat(tokenizer: tok, template: "#{prompt}:", end: 99, blockSize: 16)
        XCTAssertEqual(f.render("ab"), "#ab:")
        let row = try f.encode(prompt: "ab", completion: "cd")
        XCTAssertEqual(row.ids, tok.encode("#ab:cd") + [99])
        XCTAssertEqual(row.promptCount, 4)
        XCTAssertFalse(row.truncated)
        // 17 ids fit (16 inputs + 1 target); a long prompt keeps its end, the completion its start.
        let long = try f.encode(prompt: "abcdefghijabcdefghij", completion: "abc")
        XCTAssertTrue(long.truncated)
        XCTAssertEqual(long.ids.count, 17)
        XCTAssertEqual(Array(long.ids.suffix(4)), tok.encode("abc") + [99])
        XCTAssertEqual(long.promptCount, 13)
        XCTAssertEqual(Array(long.ids.prefix(13)), Array(tok.encode("#abcdefghijabcdefghij:").suffix(13)))
        // A long completion gets at least half the context.
        let longAnswer = try f.encode(prompt: "abcdefghij", completion: "abcdefghijabcdefghij")
        XCTAssertEqual(longAnswer.ids.count, 17)
        XCTAssertEqual(longAnswer.promptCount, 17 - 8)
        XCTAssertFalse(longAnswer.ids.contains(99), "a cut completion has no end token")
    }

    func testEndTokenIsTheTokenizersOrANewId() {
        XCTAssertEqual(InstructionFormat.endToken(tokenizer: tok, baseVocabSize: 40).id, 40)
        XCTAssertTrue(InstructionFormat.endToken(tokenizer: tok, baseVocabSize: 40).added)
    }

    func testAnswerPatterns() {
        XCTAssertEqual(AnswerPattern.gsm8k.extract("She makes 9 * 2 = $18.\n#### 18"), "18")
        XCTAssertEqual(AnswerPattern.gsm8k.extract("#### 1,234."), "1234")
        XCTAssertEqual(AnswerPattern.gsm8k.extract("####-7.50"), "-7.5")
        XCTAssertEqual(AnswerPattern.gsm8k.extract("#### 18.00 dollars"), "18")
        XCTAssertNil(AnswerPattern.gsm8k.extract("the answer is 18"))
        XCTAssertNil(AnswerPattern.gsm8k.extract("#### none"))
        XCTAssertEqual(AnswerPattern.none.extract("  Mammal\n"), "Mammal")
    }

    /// Values worked by hand from the definitions (scikit-learn's f1_score(average="macro",
    /// zero_division=0) gives the same): per-label F1 0.4, 0.8, 0.5.
    func testClassificationMetrics() {
        let m = ClassificationMetrics(predictions: [0, 0, 1, 1, 2, 2, 0], targets: [0, 1, 1, 1, 2, 0, 2],
                                      labels: ["a", "b", "c"])
        XCTAssertEqual(m.confusion, [[1, 0, 1], [1, 2, 0], [1, 0, 1]])
        XCTAssertEqual(m.accuracy, 4.0 / 7.0, accuracy: 1e-12)
        XCTAssertEqual(m.macroF1, (0.4 + 0.8 + 0.5) / 3, accuracy: 1e-12)
        XCTAssertEqual(m.count, 7)
        XCTAssertEqual(m.majorityAccuracy, 3.0 / 7.0, accuracy: 1e-12)
        let json = m.jsonObject
        XCTAssertEqual(json["labels"] as? [String], ["a", "b", "c"])
        XCTAssertEqual(json["confusion"] as? [[Int]], m.confusion)
        XCTAssertNotNil(try? JSONSerialization.data(withJSONObject: json), "jsonObject must serialise")
        // A label never predicted and never present scores F1 0.
        let sparse = ClassificationMetrics(predictions: [0, 0, 0], targets: [0, 0, 1], labels: ["x", "y", "z"])
        XCTAssertEqual(sparse.macroF1, 0.8 / 3, accuracy: 1e-12)
        XCTAssertEqual(sparse.confusionTable.count, 4)
    }

    func testConfigFlagsAndErrors() throws {
        var c = FinetuneConfig()
        try c.apply(overrides: ["task=generate", "init=run", "train_file=t.jsonl", "dev_file=d.jsonl",
                                "lm_weight=0", "template=Q: {prompt} A:", "pack=true", "answer_pattern=gsm8k"])
        XCTAssertEqual(c.task, .generate)
        XCTAssertEqual(c.lmWeight, 0)
        XCTAssertEqual(c.template, "Q: {prompt} A:")
        XCTAssertTrue(c.pack)
        XCTAssertEqual(c.answerPattern, .gsm8k)
        XCTAssertEqual(c.effectiveMetric, .loss)
        XCTAssertNoThrow(try c.validate())
        XCTAssertThrowsError(try c.apply(overrides: ["lm_wieght=1"])) { e in
            XCTAssertTrue(String(describing: e).contains("did you mean \"lm_weight\""), "\(e)")
        }
        XCTAssertThrowsError(try c.apply(overrides: ["task=regress"]))
        var noPrompt = c
        noPrompt.template = "Q: A:"
        XCTAssertThrowsError(try noPrompt.validate()) { e in XCTAssertTrue(String(describing: e).contains("{prompt}")) }
        var scratch = c
        scratch.initFrom = "scratch"
        XCTAssertThrowsError(try scratch.validate()) { e in XCTAssertTrue(String(describing: e).contains("--config")) }
        let json = try JSONSerialization.data(withJSONObject: c.jsonObject)
        XCTAssertGreaterThan(json.count, 0)
    }

    func testBatchPlanBucketsByLengthAndRestoresItsPosition() {
        var rng = RandomGenerator(seed: 5)
        let lengths = (0..<100).map { _ in 1 + rng.nextInt(below: 60) }
        var plan = BatchPlan(lengths: lengths, batchSize: 5, poolBatches: 4, seed: 9)
        var seen: [Int] = []
        var positions: [(epoch: Int, cursor: Int, poolBatch: Int)] = []
        var batches: [[Int]] = []
        for _ in 0..<50 {
            positions.append(plan.position)
            let b = plan.next()
            XCTAssertEqual(b.count, 5)
            batches.append(b)
            seen += b
        }
        XCTAssertEqual(Set(seen.prefix(100)), Set(0..<100), "each row once in the first epoch")
        XCTAssertEqual(Set(seen.suffix(150)).count, 100)
        // Within a pool of 20 rows, a batch holds rows of adjacent lengths: its spread is far below
        // what random batches of this data show.
        let spread = batches.map { b in Double(b.map { lengths[$0] }.max()! - b.map { lengths[$0] }.min()!) }
        XCTAssertLessThan(spread.reduce(0, +) / Double(spread.count), 25)
        // Restarting from any saved position continues with exactly the same batches.
        for i in [0, 1, 3, 4, 7, 21, 38] {
            let p = positions[i]
            var restored = BatchPlan(lengths: lengths, batchSize: 5, poolBatches: 4, seed: 9, epoch: p.epoch,
                                     cursor: p.cursor, poolBatch: p.poolBatch)
            for j in i..<min(i + 10, batches.count) { XCTAssertEqual(restored.next(), batches[j], "batch \(j) after " +
                    "restoring at \(i)") }
        }
        // Without buckets: consecutive rows of the epoch order.
        var plain = BatchPlan(lengths: lengths, batchSize: 5, poolBatches: 1, seed: 9)
        var order = RowOrder(count: 100, seed: 9)
        XCTAssertEqual(plain.next(), (0..<5).map { _ in order.next() })
    }
}
