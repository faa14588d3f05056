import XCTest
import Foundation
import Data

/// JSONL task files: what is read, and the one-line errors (file and line) for what cannot be.
final class TaskDatasetTests: XCTestCase {
    private func write(_ text: String, _ name: String = "rows.jsonl", in dir: ScratchDirectory) -> String {
        let url = dir.url.appendingPathComponent(name)
        try! Data(text.utf8).write(to: url)
        return url.path
    }

    func testLabelledRowsWithStringIntegerAndPairFields() throws {
        let dir = ScratchDirectory()
        let path = write("""
            {"text": "a fine film", "label": 1}
            
            {"text": "dull", "label": "negative", "id": 7}
            {"text": "premise", "text_b": "hypothesis", "label": 0}
            {"text": "x", "label": 2.0, "text_b": null}
            """, in: dir)
        let rows = try readLabelledRows(path)
        XCTAssertEqual(rows, [
            LabelledRow(text: "a fine film", textB: nil, label: "1", line: 1),
            LabelledRow(text: "dull", textB: nil, label: "negative", line: 3),
            LabelledRow(text: "premise", textB: "hypothesis", label: "0", line: 4),
            LabelledRow(text: "x", textB: nil, label: "2", line: 5),
        ])
    }

    func testPromptRows() throws {
        let dir = ScratchDirectory()
        let path = write("{\"prompt\": \"2+2?\", \"completion\": \"#### 4\"}\r\n{\"prompt\": \"é\\nü\", "
                         + "\"completion\": \"\"}\n", in: dir)
        XCTAssertEqual(try readPromptRows(path), [PromptRow(prompt: "2+2?", completion: "#### 4", line: 1),
                                                  PromptRow(prompt: "é\nü", completion: "", line: 2)])
    }

    func testErrorsNameFileAndLine() {
        let dir = ScratchDirectory()
        let missingLabel = write("{\"text\": \"ok\", \"label\": 1}\n{\"text\": \"no label\"}\n", "a.jsonl", in: dir)
        assertThrows(["a.jsonl:2", "no \"label\" field"]) { try readLabelledRows(missingLabel) }
        let badJSON = write("{\"text\": \"ok\", \"label\": 1}\n\n{\"text\": \"broken\", \n", "b.jsonl", in: dir)
        assertThrows(["b.jsonl:3", "not valid JSON"]) { try readLabelledRows(badJSON) }
        let notObject = write("[1, 2]\n", "c.jsonl", in: dir)
        assertThrows(["c.jsonl:1", "expected a JSON object"]) { try readLabelledRows(notObject) }
        let boolLabel = write("{\"text\": \"t\", \"label\": true}\n", "d.jsonl", in: dir)
        assertThrows(["d.jsonl:1", "\"label\" must be a string or an integer"]) { try readLabelledRows(boolLabel) }
        let fractional = write("{\"text\": \"t\", \"label\": 1.5}\n", "e.jsonl", in: dir)
        assertThrows(["e.jsonl:1", "\"label\""]) { try readLabelledRows(fractional) }
        let numberText = write("{\"text\": 3, \"label\": 1}\n", "f.jsonl", in: dir)
        assertThrows(["f.jsonl:1", "\"text\" is not a string"]) { try readLabelledRows(numberText) }
        let noCompletion = write("{\"prompt\": \"p\", \"completion\": \"c\"}\n{\"prompt\": \"p\"}\n", "g.jsonl",
                                 in: dir)
        assertThrows(["g.jsonl:2", "no \"completion\" field"]) { try readPromptRows(noCompletion) }
        let badUTF8 = dir.url.appendingPathComponent("h.jsonl")
        try! Data([0x7B, 0x22, 0x74, 0xFF, 0x22, 0x7D, 0x0A]).write(to: badUTF8)
        assertThrows(["h.jsonl:1", "UTF-8"]) { try readPromptRows(badUTF8.path) }
    }

    func testMissingEmptyAndDirectoryInputs() {
        let dir = ScratchDirectory()
        assertThrows(["nope.jsonl", "not found"]) {
            try readLabelledRows(dir.url.appendingPathComponent("nope.jsonl").path)
        }
        let empty = write("\n  \n", "empty.jsonl", in: dir)
        assertThrows(["empty.jsonl", "empty"]) { try readPromptRows(empty) }
        assertThrows([dir.url.path, "directory"]) { try readLabelledRows(dir.url.path) }
    }
}
