import Desired
import JSON

/// A JSON-RPC request id: a string or an integer (JSON-RPC 2.0; MCP forbids null).
public enum RPCID: Sendable, Hashable, CustomStringConvertible {
    case int(Int)
    case string(String)

    public var json: JSONValue {
        switch self {
        case .int(let value): .int(value)
        case .string(let value): .string(value)
        }
    }

    public var description: String {
        switch self {
        case .int(let value): String(value)
        case .string(let value): "\"\(value)\""
        }
    }

    public init?(_ json: JSONValue) {
        switch json {
        case .int(let value): self = .int(value)
        case .string(let value): self = .string(value)
        default: return nil
        }
    }
}

/// An error object from a peer (`code`, `message`, optional `data`).
public struct RPCErrorObject: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: Int
    public var message: String
    public var data: JSONValue?

    public init(code: Int, message: String, data: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    public var description: String { "\(code) \(message)" }
}

/// One JSON-RPC 2.0 message received from a peer, classified.
enum RPCMessage: Sendable, Equatable {
    case request(id: RPCID, method: String, params: JSONValue?)
    case notification(method: String, params: JSONValue?)
    case result(id: RPCID, JSONValue)
    /// An error response; `id` is nil when the peer could not read our request's id.
    case error(id: RPCID?, RPCErrorObject)

    /// Classifies one line. Throws a precise reason for anything that is not a single JSON-RPC
    /// 2.0 message (batches were removed from MCP in 2025-06-18).
    static func parse(_ bytes: [UInt8]) throws(RPCMessageError) -> RPCMessage {
        let json: JSONValue
        do {
            json = try JSONParser.parse(bytes)
        } catch {
            throw RPCMessageError("invalid JSON at \(error)")
        }
        return try classify(json)
    }

    static func classify(_ json: JSONValue) throws(RPCMessageError) -> RPCMessage {
        guard case .object = json else {
            if case .array = json { throw RPCMessageError("a batch (JSON array); MCP allows one message per line") }
            throw RPCMessageError("not a JSON object")
        }
        guard json["jsonrpc"] == .string("2.0") else { throw RPCMessageError("\"jsonrpc\" is not \"2.0\"") }
        let params = json["params"]
        if let params, params.objectValue == nil, params.arrayValue == nil {
            throw RPCMessageError("\"params\" is neither an object nor an array")
        }
        if let method = json["method"] {
            guard let name = method.stringValue else { throw RPCMessageError("\"method\" is not a string") }
            guard let rawID = json["id"] else { return .notification(method: name, params: params) }
            guard let id = RPCID(rawID) else { throw RPCMessageError("request id is neither a string nor an integer") }
            return .request(id: id, method: name, params: params)
        }
        let rawID = json["id"]
        if let error = json["error"] {
            guard let code = error["code"]?.intValue, let message = error["message"]?.stringValue else {
                throw RPCMessageError("error response without an integer \"code\" and a string \"message\"")
            }
            let id = rawID.flatMap(RPCID.init)
            if id == nil, rawID != nil, rawID != .null { throw RPCMessageError("response id is neither a string nor an integer") }
            return .error(id: id, RPCErrorObject(code: code, message: message, data: error["data"]))
        }
        guard let result = json["result"] else { throw RPCMessageError("neither a request, a notification nor a response") }
        guard let rawID, let id = RPCID(rawID) else { throw RPCMessageError("response without a valid id") }
        return .result(id: id, result)
    }

    /// The wire form of a request (one line, no trailing newline).
    static func encodeRequest(id: RPCID, method: String, params: JSONValue?) -> JSONValue {
        var pairs: [(String, JSONValue)] = [("jsonrpc", "2.0"), ("id", id.json), ("method", .string(method))]
        if let params { pairs.append(("params", params)) }
        return .object(pairs)
    }

    static func encodeNotification(method: String, params: JSONValue?) -> JSONValue {
        var pairs: [(String, JSONValue)] = [("jsonrpc", "2.0"), ("method", .string(method))]
        if let params { pairs.append(("params", params)) }
        return .object(pairs)
    }

    static func encodeResponse(id: RPCID, result: JSONValue) -> JSONValue {
        .object([("jsonrpc", "2.0"), ("id", id.json), ("result", result)])
    }

    static func encodeResponse(id: RPCID, error: RPCErrorObject) -> JSONValue {
        var body: [(String, JSONValue)] = [("code", .int(error.code)), ("message", .string(error.message))]
        if let data = error.data { body.append(("data", data)) }
        return .object([("jsonrpc", "2.0"), ("id", id.json), ("error", .object(body))])
    }
}

/// Why a line from a peer is not a usable JSON-RPC message.
struct RPCMessageError: Error, Sendable, Equatable, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}
