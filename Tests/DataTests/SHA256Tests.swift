import Crypto
import Data
import XCTest

// SHA-256 comes from swift-crypto; these pin the digests prepare records in manifest.json and the
// way TextStream feeds the hasher (several updates per file).
final class SHA256Tests: XCTestCase {
    private func hex(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).hexString }

    // Test vectors from FIPS 180-4's examples (NIST CSRC "SHA256.pdf") and the classic million-'a' message.
    func testKnownDigests() {
        XCTAssertEqual(hex(Array("".utf8)), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(hex(Array("abc".utf8)),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(hex([UInt8](repeating: 0x61, count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testIncrementalUpdatesMatchOneShot() {
        var rng: UInt64 = 12345
        let bytes: [UInt8] = (0..<1000).map { _ in
            rng = rng &* 6364136223846793005 &+ 1; return UInt8(truncatingIfNeeded: rng >> 33)
        }
        let whole = hex(bytes)
        for split in [0, 1, 55, 56, 63, 64, 65, 127, 999] {
            var h = SHA256()
            h.update(data: bytes[0..<split])
            h.update(data: bytes[split...])
            XCTAssertEqual(h.finalize().hexString, whole, "split at \(split)")
        }
    }
}
