// Errors of `tinygpt fetch`, each one line that names the URL or file involved.
import Foundation

public enum FetchError: Error, CustomStringConvertible, Equatable {
    /// A name that is not in the catalog; `known` lists the names that are.
    case unknownName(String, known: [String])
    /// The server answered with a status other than 200 or 206.
    case http(url: String, status: Int)
    /// The transfer failed before a response or part-way (refused connection, timeout, missing file).
    case transfer(url: String, problem: String)
    /// The downloaded bytes do not have the pinned size.
    case size(url: String, expected: Int, got: Int)
    /// The downloaded bytes do not have the pinned SHA-256.
    case checksum(url: String, expected: String, got: String)
    /// A source file that a conversion reads is malformed.
    case badSource(path: String, problem: String)
    /// A converted file differs from the pinned result.
    case conversion(path: String, expected: String, got: String)
    /// A local file operation failed.
    case io(path: String, problem: String)

    public var description: String {
        switch self {
        case .unknownName(let name, let known):
            return "unknown name \"\(name)\" (known: \(known.joined(separator: ", ")))"
        case .http(let url, let status):
            return "HTTP \(status) from \(url)"
        case .transfer(let url, let problem):
            return "download of \(url) failed: \(problem)"
        case .size(let url, let expected, let got):
            return "size mismatch for \(url): expected \(expected) bytes, got \(got) (download removed)"
        case .checksum(let url, let expected, let got):
            return "sha256 mismatch for \(url): expected \(expected), got \(got) (download removed)"
        case .badSource(let path, let problem):
            return "\(path): \(problem)"
        case .conversion(let path, let expected, let got):
            return "converted \(path) has sha256 \(got), expected \(expected) (file removed)"
        case .io(let path, let problem):
            return "\(path): \(problem)"
        }
    }
}
