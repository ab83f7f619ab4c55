/// A JSON-RPC request id. MCP allows strings and integers; `null` is never a request id.
enum RequestID: Sendable, Hashable {
    case string(String)
    case integer(Int)

    /// The id from a message's `id` member; nil when it is not a string or an integer.
    init?(_ value: JSONValue) {
        switch value {
        case .string(let text): self = .string(text)
        case .integer(let number): self = .integer(number)
        default: return nil
        }
    }

    var json: JSONValue {
        switch self {
        case .string(let text): .string(text)
        case .integer(let number): .integer(number)
        }
    }
}

/// One inbound line, classified.
enum InboundMessage: Sendable {
    /// A request: it must get exactly one response (unless a fault or a cancellation says otherwise).
    case request(id: RequestID, method: String, params: JSONValue?)
    /// A notification: never answered.
    case notification(method: String, params: JSONValue?)
    /// Valid JSON that is not a request or a notification; answered with -32600. `id` is the
    /// message's id when it had a usable one.
    case invalid(id: RequestID?, reason: String)

    /// Classifies a parsed JSON value as JSON-RPC 2.0.
    init(_ value: JSONValue) {
        let id = value["id"].flatMap(RequestID.init)
        guard value.isObject else {
            self = .invalid(id: nil, reason: "a JSON-RPC message must be a JSON object (batches are not supported)")
            return
        }
        guard value["jsonrpc"]?.stringValue == "2.0" else {
            self = .invalid(id: id, reason: "jsonrpc must be \"2.0\"")
            return
        }
        guard let method = value["method"]?.stringValue else {
            self = .invalid(id: id, reason: "not a request or notification: method is missing or not a string")
            return
        }
        let params = value["params"]
        if let params, !params.isObject {
            self = .invalid(id: id, reason: "params must be an object")
            return
        }
        guard value["id"] != nil else {
            self = .notification(method: method, params: params)
            return
        }
        guard let id else {
            self = .invalid(id: nil, reason: "id must be a string or an integer")
            return
        }
        self = .request(id: id, method: method, params: params)
    }
}

/// A JSON-RPC error object.
struct RPCError: Error, Sendable {
    var code: Int
    var message: String
    var data: JSONValue?

    static let parseError = -32_700
    static let invalidRequest = -32_600
    static let methodNotFound = -32_601
    static let invalidParams = -32_602
    static let unsupportedProtocolVersion = -32_022

    static func methodNotFound(_ method: String) -> RPCError {
        RPCError(code: methodNotFound, message: "Method not found: \(method)")
    }

    static func invalidParams(_ message: String) -> RPCError {
        RPCError(code: invalidParams, message: message)
    }

    static func invalidRequest(_ message: String) -> RPCError {
        RPCError(code: invalidRequest, message: message)
    }

    var json: JSONValue {
        var members: [(String, JSONValue)] = [("code", .integer(code)), ("message", .string(message))]
        if let data { members.append(("data", data)) }
        return .object(members)
    }
}

/// Builders for the lines the server writes.
enum Frame {
    /// `{"jsonrpc":"2.0","id":…,"result":…}`
    static func result(id: RequestID, _ result: JSONValue) -> JSONValue {
        .object([("jsonrpc", .string("2.0")), ("id", id.json), ("result", result)])
    }

    /// `{"jsonrpc":"2.0","id":…|null,"error":{…}}`
    static func error(id: RequestID?, _ error: RPCError) -> JSONValue {
        .object([("jsonrpc", .string("2.0")), ("id", id?.json ?? .null), ("error", error.json)])
    }

    /// `{"jsonrpc":"2.0","method":…,"params":…}`
    static func notification(method: String, params: JSONValue) -> JSONValue {
        .object([("jsonrpc", .string("2.0")), ("method", .string(method)), ("params", params)])
    }
}
