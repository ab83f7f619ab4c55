/// Why a request to a server got no usable result.
public enum RPCError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No response within the timeout (`notifications/cancelled` was sent unless the method is
    /// one the spec forbids cancelling).
    case timedOut(method: String, after: Duration)
    /// The calling task was cancelled (`notifications/cancelled` was sent).
    case cancelled(method: String)
    /// The session ended (the process exited or was stopped).
    case closed(String)
    /// The server could not take the request (stdin closed or its queue full).
    case unwritable(String)
    /// The server answered with a JSON-RPC error.
    case remote(RPCErrorObject)
    /// The server answered with something that breaks the protocol.
    case protocolViolation(String)
    /// The HTTP exchange itself failed (connection refused, a non-MCP status, a stream cut short).
    case transport(String)

    public var description: String {
        switch self {
        case .timedOut(let method, let after): "\(method): no response within \(after.formattedMilliseconds)"
        case .cancelled(let method): "\(method): cancelled"
        case .closed(let why): "session closed: \(why)"
        case .unwritable(let why): "cannot write to the server: \(why)"
        case .remote(let error): "error \(error.code): \(error.message)"
        case .protocolViolation(let why): "protocol violation: \(why)"
        case .transport(let why): why
        }
    }
}

extension RPCError {
    /// How a transport error begins when no HTTP response came at all (refused, reset, DNS).
    static let requestFailed = "HTTP request failed"

    /// The request reached no server: not an answer about what the server speaks.
    var isUnreachable: Bool {
        if case .transport(let why) = self { return why.hasPrefix(RPCError.requestFailed) }
        return false
    }
}
