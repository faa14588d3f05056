// The one error type of the Checkpoint layer: a single line naming the file or directory and what is
// wrong with it, ready to print as is.
import Foundation

public struct CheckpointError: Error, CustomStringConvertible, LocalizedError, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }
}
