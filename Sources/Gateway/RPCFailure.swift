import Actual
import JSON

/// A JSON-RPC error the gateway answers with, and the HTTP status it goes with (a `400` for a
/// malformed request, `404` for an unknown method, the refusal's status for a guard).
struct RPCFailure: Error, Sendable, Equatable {
    var status: Int
    var code: Int
    var message: String
    var data: JSONValue?
    /// The request's id when it could be read (error bodies carry it: MCP.md).
    var id: JSONValue?
    var headers: [Header] = []

    struct Header: Sendable, Equatable {
        var name: String
        var value: String
    }

    static func parseError(_ why: String) -> RPCFailure {
        RPCFailure(status: 400, code: -32700, message: "Parse error: \(why)")
    }

    static func invalidRequest(_ why: String, id: JSONValue? = nil) -> RPCFailure {
        RPCFailure(status: 400, code: -32600, message: "Invalid request: \(why)", id: id)
    }

    static func invalidParams(_ why: String, id: JSONValue?) -> RPCFailure {
        RPCFailure(status: 400, code: -32602, message: "Invalid params: \(why)", id: id)
    }

    static func headerMismatch(_ why: String, id: JSONValue?) -> RPCFailure {
        RPCFailure(status: 400, code: -32020, message: "Header mismatch: \(why)", id: id)
    }

    static func methodNotFound(_ method: String, id: JSONValue?, why: String? = nil) -> RPCFailure {
        RPCFailure(status: 404, code: -32601, message: "Method not found: \(method)" + (why.map { " (\($0))" } ?? ""), id: id)
    }

    static func refusal(_ refusal: GatewayRefusal, id: JSONValue?) -> RPCFailure {
        var failure = RPCFailure(
            status: refusal.kind.status, code: refusal.kind.code, message: "\(refusal.kind.rawValue): \(refusal.server): \(refusal.reason)",
            data: .object([("reason", .string(refusal.kind.rawValue)), ("server", .string(refusal.server))]), id: id)
        if let after = refusal.retryAfterHeader { failure.headers.append(Header(name: "Retry-After", value: after)) }
        return failure
    }

    /// The error response as sent (`"id": null` when the id is unknown).
    var body: JSONValue {
        RPCReply.error(id: id ?? .null, RPCErrorObject(code: code, message: message, data: data))
    }
}

/// Builders for what the gateway sends clients.
enum RPCReply {
    static func result(id: JSONValue, _ result: JSONValue) -> JSONValue {
        .object([("jsonrpc", "2.0"), ("id", id), ("result", result)])
    }

    static func error(id: JSONValue, _ error: RPCErrorObject) -> JSONValue {
        var body: [(String, JSONValue)] = [("code", .int(error.code)), ("message", .string(error.message))]
        if let data = error.data { body.append(("data", data)) }
        return .object([("jsonrpc", "2.0"), ("id", id), ("error", .object(body))])
    }

    static func notification(_ method: String, params: JSONValue?) -> JSONValue {
        var pairs: [(String, JSONValue)] = [("jsonrpc", "2.0"), ("method", .string(method))]
        if let params { pairs.append(("params", params)) }
        return .object(pairs)
    }

    static func request(id: JSONValue, _ method: String, params: JSONValue?) -> JSONValue {
        var pairs: [(String, JSONValue)] = [("jsonrpc", "2.0"), ("id", id), ("method", .string(method))]
        if let params { pairs.append(("params", params)) }
        return .object(pairs)
    }
}
