// Scratch directories and byte-level file helpers for the data tests.
import Foundation
import XCTest

/// A fresh directory under the system temporary directory, removed at deinit.
final class ScratchDirectory {
    let url: URL
    init(_ name: String = "tinygpt-data") {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    @discardableResult
    func write(_ name: String, _ text: String) -> URL { write(name, bytes: Array(text.utf8)) }

    @discardableResult
    func write(_ name: String, bytes: [UInt8]) -> URL {
        let u = file(name)
        try! FileManager.default.createDirectory(at: u.deletingLastPathComponent(), withIntermediateDirectories: true)
        try! Data(bytes).write(to: u)
        return u
    }

    func names() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).sorted() }
}

/// Little-endian bytes of an int32 / uint16 / uint32, for building files by hand.
func le32(_ v: Int32) -> [UInt8] {
    let u = UInt32(bitPattern: v); return (0..<4).map { UInt8(truncatingIfNeeded: u >> (8 * $0)) }
}
func le16(_ v: UInt16) -> [UInt8] { [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8)] }
func leU32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

/// Asserts that `body` throws an error whose one-line description contains every fragment.
func assertThrows<T>(_ fragments: [String], file: StaticString = #filePath, line: UInt = #line,
                     _ body: () throws -> T) {
    do {
        _ = try body()
        XCTFail("expected an error containing \(fragments)", file: file, line: line)
    } catch {
        let text = String(describing: error)
        XCTAssertFalse(text.contains("\n"), "error is not one line: \(text)", file: file, line: line)
        for f in fragments {
            XCTAssert(text.contains(f), "error \"\(text)\" does not contain \"\(f)\"", file: file, line: line)
        }
    }
}
