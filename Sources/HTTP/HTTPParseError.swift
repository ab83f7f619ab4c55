/// Why a request was refused, with the status to answer and the byte offset (in the connection's
/// current request) where reading stopped.
public struct HTTPParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public var status: Int
    public var offset: Int
    public var message: String

    public init(_ status: Int, at offset: Int, _ message: String) {
        self.status = status
        self.offset = offset
        self.message = message
    }

    public var description: String { "\(status) at byte \(offset): \(message)" }
}
