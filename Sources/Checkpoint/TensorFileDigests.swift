// The SHA-256 of each tensor file of a checkpoint, recorded in its state.json under "sha256":
//   "sha256": {"model.safetensors": "<64 hex digits>", "optimizer.safetensors": "..."}
// The store hashes each file while writing it (FileSystem.Writer) and adds the record to the state it
// was given; loading hashes the file again and refuses a mismatch, so a bit flipped on disk or in a
// copy never trains or samples silently. Checkpoints written before the record existed load unchecked.
import Crypto
import Data
import Foundation

public enum TensorFileDigests {
    /// The state.json key holding the record.
    public static let key = "sha256"

    /// The record in a decoded state.json value: file name → lower-case hex digest. Anything but an
    /// object of 64-digit hex strings keyed by plain file names is refused, naming `source`.
    public static func parse(_ value: Any, source: String) throws -> [String: String] {
        guard let object = value as? [String: Any] else {
            throw CheckpointError("\(source): \"\(key)\" must be an object of file name: hex digest")
        }
        var record: [String: String] = [:]
        for (name, digest) in object {
            guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
                throw CheckpointError("\(source): \"\(key)\" names \"\(name)\", which is not a file name")
            }
            guard let hex = digest as? String, isDigest(hex) else {
                throw CheckpointError("\(source): \"\(key).\(name)\" must be 64 lower-case hexadecimal digits")
            }
            record[name] = hex
        }
        return record
    }

    /// The record in state.json bytes; empty when the state has none (an older checkpoint).
    public static func recorded(in state: Foundation.Data, source: String) throws -> [String: String] {
        guard let object = (try? JSONSerialization.jsonObject(with: state)) as? [String: Any] else {
            throw CheckpointError("\(source): not a JSON object")
        }
        guard let value = object[key] else { return [:] }
        return try parse(value, source: source)
    }

    /// `state` (a JSON object) with `record` under the key, replacing any record it held.
    static func recording(_ record: [String: String], in state: Foundation.Data) throws -> Foundation.Data {
        var object = try stateObject(state)
        object[key] = record
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }

    /// `state` without its record, in one canonical form (to compare two states for equality), or nil
    /// when it is not a JSON object.
    static func withoutRecord(_ state: Foundation.Data) -> Foundation.Data? {
        guard var object = try? stateObject(state) else { return nil }
        object.removeValue(forKey: key)
        return try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }

    private static func stateObject(_ state: Foundation.Data) throws -> [String: Any] {
        guard let object = (try? JSONSerialization.jsonObject(with: state)) as? [String: Any] else {
            throw CheckpointError("a checkpoint's state must be a JSON object")
        }
        return object
    }

    /// Throws when `url`'s SHA-256 differs from `record`'s entry for its name; a file the record does
    /// not name is not checked. A file that cannot be read is left to the reader that follows.
    static func verify(_ url: URL, record: [String: String]) throws {
        guard let expected = record[url.lastPathComponent], RegularFile.problem(url.path) == nil,
              let bytes = try? Foundation.Data(contentsOf: url, options: .alwaysMapped) else { return }
        let actual = bytes.withUnsafeBytes { SHA256.hash(data: $0).hexString }
        guard actual == expected else {
            throw CheckpointError("\(url.path): sha256 mismatch (state.json records \(expected.prefix(12))…, file has "
                                  + "\(actual.prefix(12))…); the file is damaged — use --no-verify to load it anyway")
        }
    }

    static func isDigest(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
