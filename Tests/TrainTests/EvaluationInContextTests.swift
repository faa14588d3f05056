import XCTest
import Foundation
import Data
import NN
import Train
import Config
import Evaluate
import Planning
import Checkpoint

/// Zero-shot and k-shot classification by label-word likelihood: predictions follow hand-computed
/// scores, demonstrations are deterministic and never the query, long prompts are cut from the left.
final class EvaluationInContextTests: EvaluationCheckpointTestCase {
    static let rows: [LabelledRow] = [
        ("the king speaks", "good"), ("the fool laughs", "bad"), ("her loyal court", "good"),
        ("the queen laughs to the fool", "bad"), ("his court speaks", "good"), ("the fool and the king", "bad"),
        ("loyal queen", "good"), ("the fool", "bad"), ("the king and his queen", "good"),
    ].enumerated().map { LabelledRow(text: $1.0, label: $1.1, line: $0 + 1) }

    static let verbalizers = [Verbalizer(label: "good", words: " good"), Verbalizer(label: "bad", words: " bad")]

    func evaluator(shots: Int = 0, seed: UInt64 = 7, template: String = "review: {text}\nsentiment:",
                   dev: [LabelledRow] = rows, train: [LabelledRow]? = nil) throws -> InContextEvaluator {
        let loaded = try LoadedModel(checkpoint: Self.checkpoint)
        let options = InContextOptions(template: try PromptTemplate(template), verbalizers: Self.verbalizers,
                                       shots: shots, seed: seed)
        return try InContextEvaluator(model: loaded.model, tokenizer: loaded.tokenizer, options: options, dev: dev,
                                      devPath: "dev.jsonl", train: train ?? (shots > 0 ? Self.rows : []),
                                      trainPath: shots > 0 ? "train.jsonl" : nil)
    }

    func testZeroShotPredictionsAreTheBestHandComputedScores() throws {
        let e = try evaluator()
        let result = try e.run()
        let tok = e.tokenizer
        var correct = 0
        for (i, row) in Self.rows.enumerated() {
            let prompt = tok.encode("review: \(row.text)\nsentiment:")
            XCTAssertEqual(try e.promptTokens(forQuery: i).tokens, prompt)
            let good = referenceScore(e.model, prompt: prompt, continuation: tok.encode(" good"))
            let bad = referenceScore(e.model, prompt: prompt, continuation: tok.encode(" bad"))
            XCTAssertGreaterThan(abs(good - bad), 1e-3, "row \(i): scores too close to decide the test")
            let expected = good >= bad ? "good" : "bad"
            XCTAssertEqual(result.predictions[i], expected, "row \(i): good \(good), bad \(bad)")
            if expected == row.label { correct += 1 }
        }
        XCTAssertEqual(result.examples, Self.rows.count)
        XCTAssertEqual(result.accuracy, Double(correct) / Double(Self.rows.count))
        XCTAssertEqual(result.labels, ["good", "bad"])
        XCTAssertEqual(result.metrics.confusion.map { $0.reduce(0, +) }, [5, 4])  // rows: true good, true bad
        XCTAssertEqual(result.majorityLabel, "good")
        XCTAssertEqual(result.majorityAccuracy, 5.0 / 9.0, accuracy: 1e-12)
        XCTAssertEqual(result.truncated, 0)
        let json = result.jsonObject
        XCTAssertEqual(json["task"] as? String, "icl")
        XCTAssertEqual(json["examples"] as? Int, 9)
        XCTAssertNotNil(try? JSONSerialization.data(withJSONObject: json))
    }

    func testDemonstrationsAreSeededAndNeverTheQueryWhenTrainIsDev() throws {
        // Duplicate one dev text inside train: neither copy may be drawn for that query.
        var train = Self.rows
        train.append(LabelledRow(text: Self.rows[2].text, label: "good", line: 10))
        let a = try evaluator(shots: 3, seed: 11, train: train)
        let b = try evaluator(shots: 3, seed: 11, train: train)
        let c = try evaluator(shots: 3, seed: 12, train: train)
        var differs = false
        for i in 0..<Self.rows.count {
            let demos = a.demonstrations(forQuery: i)
            XCTAssertEqual(demos, b.demonstrations(forQuery: i), "query \(i): same seed, different demonstrations")
            XCTAssertEqual(demos.count, 3)
            XCTAssertEqual(Set(demos).count, 3, "query \(i): a demonstration drawn twice")
            for j in demos { XCTAssertNotEqual(train[j].text, Self.rows[i].text, "query \(i) sees itself as " +
                    "demonstration \(j)") }
            if demos != c.demonstrations(forQuery: i) { differs = true }
            // The prompt: each demonstration with its label words, a blank line, then the query.
            let expected = demos.map { "review: \(train[$0].text)\nsentiment: \(train[$0].label)\n\n" }.joined()
                + "review: \(Self.rows[i].text)\nsentiment:"
            XCTAssertEqual(a.promptText(forQuery: i), expected)
        }
        XCTAssertTrue(differs, "another seed should draw other demonstrations")
        XCTAssertEqual(try a.run().predictions, try b.run().predictions)

        // Nearly the whole pool (the exhaustive drawing path): still never the query.
        let most = try evaluator(shots: Self.rows.count - 1, seed: 3, train: Self.rows)
        for i in 0..<Self.rows.count {
            let demos = most.demonstrations(forQuery: i)
            XCTAssertEqual(Set(demos), Set(Self.rows.indices).subtracting([i]))
        }
    }

    func testLongPromptsAreCutFromTheLeftAndCounted() throws {
        let e = try evaluator(shots: 4)
        XCTAssertEqual(e.promptLimit, e.model.config.blockSize - (e.tokenizer.encode(" good").count - 1))
        var expectedCut = 0
        for i in 0..<Self.rows.count {
            let full = e.tokenizer.encode(e.promptText(forQuery: i))
            let (tokens, cut) = try e.promptTokens(forQuery: i)
            XCTAssertEqual(cut, full.count > e.promptLimit)
            XCTAssertEqual(tokens, Array(full.suffix(e.promptLimit)))
            if cut { expectedCut += 1 }
        }
        XCTAssertGreaterThan(expectedCut, 0, "4-shot prompts should exceed a 64-token context")
        let result = try e.run()
        XCTAssertEqual(result.truncated, expectedCut)
        // The scores of a cut prompt are those of its last promptLimit tokens.
        let (tokens, _) = try e.promptTokens(forQuery: 0)
        let good = referenceScore(e.model, prompt: tokens, continuation: e.tokenizer.encode(" good"))
        let bad = referenceScore(e.model, prompt: tokens, continuation: e.tokenizer.encode(" bad"))
        XCTAssertEqual(result.predictions[0], good >= bad ? "good" : "bad")
    }

    func testMaxExamplesAndPairTemplates() throws {
        let loaded = try LoadedModel(checkpoint: Self.checkpoint)
        let pairs = [LabelledRow(text: "the king", textB: "the queen", label: "good", line: 1),
                     LabelledRow(text: "the fool", textB: "his court", label: "bad", line: 2),
                     LabelledRow(text: "loyal", textB: "the fool laughs", label: "bad", line: 3)]
        let options = InContextOptions(template: try PromptTemplate("{text} and " +
                "{text_b}:"), verbalizers: Self.verbalizers,
                                       maxExamples: 2)
        let e = try InContextEvaluator(model: loaded.model, tokenizer: loaded.tokenizer, options: options, dev: pairs,
                                       devPath: "pairs.jsonl")
        XCTAssertEqual(e.promptText(forQuery: 1), "the fool and his court:")
        let r = try e.run()
        XCTAssertEqual(r.examples, 2)
        XCTAssertEqual(r.majorityLabel, "good")  // tie between good and bad: the label listed first
    }
}
