// Lower-case hexadecimal of a SHA-256 digest (swift-crypto), the form manifest.json records for
// each source file and `sha256sum` prints.
import Crypto

extension SHA256.Digest {
    /// The digest as 64 lower-case hexadecimal digits.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
