import XCTest
import Foundation
import Checkpoint
import Config
import Data
import Evaluate
import NN
import Planning
import Train

/// Config files that JSONSerialization accepts but that are mistakes.
final class ConfigFileTests: XCTestCase {
    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "" } catch { return String(describing: error) }
    }

    func testDuplicateConfigKeysAreRefused() throws {
        let dir = ScratchDirectory()
        let file = dir.url.appendingPathComponent("dup.json")
        try #"{"n_layer": 2, "optimizer": {"x": 1, "x": 2}, "\u006e_layer": 4}"#.write(to: file, atomically: true,
                                                                                       encoding: .utf8)
        let m = message { _ = try TrainConfig.load(path: file.path) }
        XCTAssertEqual(m, "\(file.path): config key \"n_layer\" appears more than once")
        XCTAssertNil(JSONValue.duplicateTopLevelKey(in: Foundation.Data(#"{"a": {"b": 1, "b": 2}, "c": "a:"}"#.utf8)))
        let escaped = Foundation.Data(#"{"a\"": [1, {"a\"": 2}], "a\"" : 3}"#.utf8)
        XCTAssertEqual(JSONValue.duplicateTopLevelKey(in: escaped), "a\"")
    }
}
