import XCTest
import Foundation
import Data
import Train
import Config
import Evaluate
import Planning
import Checkpoint

/// Every bad evaluation input is refused with one line naming the file and line, or the flag; and
/// the flag syntaxes (templates, verbalisers, escapes) parse as documented.
final class EvaluationInputErrorTests: EvaluationCheckpointTestCase {
    let verbalizers = [Verbalizer(label: "0", words: " bad"), Verbalizer(label: "1", words: " good")]

    func write(_ name: String, _ lines: [String]) throws -> String {
        let url = Self.scratch!.url.appendingPathComponent(name)
        try lines.joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func assertError(_ expected: String, file: StaticString = #filePath, line: UInt = #line,
                     _ body: () throws -> Void) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertEqual("\(error)", expected, file: file, line: line)
            XCTAssertFalse("\(error)".contains("\n"), "error spans several lines", file: file, line: line)
        }
    }

    func evaluate(dev: String, train: String? = nil, shots: Int = 0, template: String = "{text}:",
                  verbalizers: [Verbalizer]? = nil) throws {
        let loaded = try LoadedModel(checkpoint: Self.checkpoint)
        let options = InContextOptions(template: try PromptTemplate(template),
                                       verbalizers: verbalizers ?? self.verbalizers, shots: shots)
        let trainRows = try train.map { try readLabelledRows($0) } ?? []
        _ = try InContextEvaluator(model: loaded.model, tokenizer: loaded.tokenizer, options: options,
                                   dev: try readLabelledRows(dev), devPath: dev, train: trainRows, trainPath: train)
    }

    func testRowFileErrorsNameFileAndLine() throws {
        let missing = Self.scratch!.url.appendingPathComponent("absent.jsonl").path
        XCTAssertThrowsError(try evaluate(dev: missing)) { XCTAssertTrue("\($0)".hasPrefix(missing), "\($0)") }
        let empty = try write("empty.jsonl", ["", "  "])
        XCTAssertThrowsError(try evaluate(dev: empty)) { XCTAssertTrue("\($0)".hasPrefix("\(empty): "), "\($0)") }
        let noText = try write("notext.jsonl", [#"{"text": "the king", "label": 1}"#, "", #"{"label": 0}"#])
        XCTAssertThrowsError(try evaluate(dev: noText)) {
            XCTAssertTrue("\($0)".hasPrefix("\(noText):3: " +
                    ""), "\($0)"); XCTAssertTrue("\($0)".contains("\"text\""), "\($0)")
        }
        let noLabel = try write("nolabel.jsonl", [#"{"text": "the king"}"#])
        XCTAssertThrowsError(try evaluate(dev: noLabel)) {
            XCTAssertTrue("\($0)".hasPrefix("\(noLabel):1: " +
                    ""), "\($0)"); XCTAssertTrue("\($0)".contains("\"label\""), "\($0)")
        }
    }

    func testDevLabelOutsideTheVerbalisers() throws {
        let dev = try write("dev3.jsonl", [#"{"text": "the king", "label": 1}"#, #"{"text": "the fool", "label": 2}"#])
        assertError("\(dev):2: label \"2\" is not among the --labels (0, 1)") { try evaluate(dev: dev) }
        let train = try write("train3.jsonl", [#"{"text": "the king", "label": "yes"}"#])
        let good = try write("dev2.jsonl", [#"{"text": "the king", "label": 1}"#])
        assertError("\(train):1: label \"yes\" is not among the --labels (0, 1)") {
            try evaluate(dev: good, train: train, shots: 1)
        }
    }

    func testTokenizerThatCannotEncodeTheRowsNamesFileAndLine() throws {
        let dev = try write("devZ.jsonl", [#"{"text": "the king", "label": 1}"#, #"{"text": "the Zebra", "label": 0}"#])
        XCTAssertThrowsError(try evaluate(dev: dev)) {
            XCTAssertTrue("\($0)".hasPrefix("\(dev):2: the checkpoint's char tokenizer cannot encode this text: " +
                    "character Z"), "\($0)")
        }
        let ok = try write("devok.jsonl", [#"{"text": "the king", "label": 1}"#])
        assertError("--template: the checkpoint's char tokenizer cannot encode this text: character Q at offset 0 " +
                "is not in the character tokenizer's vocabulary") {
            try evaluate(dev: ok, template: "Q: {text}")
        }
        XCTAssertThrowsError(try evaluate(dev: ok, verbalizers: [Verbalizer(label: "0", words: " BAD"),
                                                                 Verbalizer(label: "1", words: " good")])) {
            XCTAssertTrue("\($0)".hasPrefix("--labels (words of label \"0\"): the checkpoint's char tokenizer " +
                    "cannot encode"), "\($0)")
        }
    }

    func testShotsBeyondTheTrainFile() throws {
        let dev = try write("devs.jsonl", [#"{"text": "the king", "label": 1}"#, #"{"text": "the fool", "label": 0}"#])
        let train = try write("trains.jsonl", [#"{"text": "the queen", "label": 1}"#,
                                               #"{"text": "the court", "label": 0}"#])
        assertError("--shots: 3 demonstrations requested but \(train) holds only 2 " +
                "rows") { try evaluate(dev: dev, train: train, shots: 3) }
        assertError("--shots: 2 demonstrations need a --train file to draw them " +
                "from") { try evaluate(dev: dev, shots: 2) }
        // Train == dev: with the query excluded only one row is left for 2 shots.
        assertError("--shots: 2 demonstrations requested but only 1 row of \(dev) differ from the query at \(dev):1") {
            try evaluate(dev: dev, train: dev, shots: 2)
        }
        XCTAssertNoThrow(try evaluate(dev: dev, train: dev, shots: 1))
        XCTAssertNoThrow(try evaluate(dev: dev, train: train, shots: 2))
    }

    func testTemplateErrors() throws {
        assertError("--template: template \"Review:\\nSentiment:\" has no {text} placeholder") {
            _ = try PromptTemplate("Review:\nSentiment:")
        }
        let dev = try write("devpair.jsonl", [#"{"text": "the king", "text_b": "the fool", "label": 1}"#,
                                              #"{"text": "the fool", "label": 0}"#])
        assertError("\(dev):2: row has no \"text_b\" field, but the template uses {text_b}") {
            try evaluate(dev: dev, template: "{text} and {text_b}")
        }
        XCTAssertEqual(try PromptTemplate("{text} / {text_b}?").render(text: "a", textB: "b"), "a / b?")
    }

    func testVerbaliserSyntax() throws {
        XCTAssertEqual(try Verbalizer.parse("0= negative,1= positive"),
                       [Verbalizer(label: "0", words: " negative"), Verbalizer(label: "1", words: " positive")])
        XCTAssertEqual(try Verbalizer.parse(" yes = Yes\\, indeed,no=\\nNo"),
                       [Verbalizer(label: "yes", words: " Yes, indeed"), Verbalizer(label: "no", words: "\nNo")])
        XCTAssertEqual(try Verbalizer.parse("a=x=y,b=z"),
                       [Verbalizer(label: "a", words: "x=y"), Verbalizer(label: "b", words: "z")])
        assertError("--labels: entry 2 \"1positive\" has no label before '=' (expected LABEL=WORDS pairs separated " +
                "by commas, e.g. \"0= negative,1= positive\")") {
            _ = try Verbalizer.parse("0= negative,1positive")
        }
        assertError("--labels: label \"1\" has no words after '=' (expected LABEL=WORDS pairs separated by commas, " +
                "e.g. \"0= negative,1= positive\")") {
            _ = try Verbalizer.parse("0= negative,1=")
        }
        assertError("--labels: label \"0\" is listed twice") { _ = try Verbalizer.parse("0= bad,0= good") }
        assertError("--labels: needs at least two labels to choose between (expected LABEL=WORDS pairs separated by " +
                "commas, e.g. \"0= negative,1= positive\")") {
            _ = try Verbalizer.parse("0= bad")
        }
    }

    func testFlagEscapes() {
        XCTAssertEqual(unescapeFlagText("Review: {text}\\nSentiment:"), "Review: {text}\nSentiment:")
        XCTAssertEqual(unescapeFlagText("a\\tb\\\\n\\"), "a\tb\\n\\")
    }
}
