import JSON

/// One JSON-RPC message a client POSTed, classified. Ids stay as the client wrote them (a
/// string or an integer) and go back to it unchanged; the server never sees them.
enum ClientMessage: Sendable, Equatable {
    case request(id: JSONValue, method: String, params: JSONValue?)
    case notification(method: String, params: JSONValue?)
    /// An answer to a request the gateway relayed to the client (`result` or `error` inside).
    case response(id: JSONValue, message: JSONValue)

    /// Classifies a parsed body; a failure is the `-32600` reason, in words.
    static func classify(_ json: JSONValue) -> Result<ClientMessage, RPCFailure> {
        guard case .object = json else {
            if case .array = json {
                return .failure(.invalidRequest("batches (JSON arrays) are not supported: send one message per POST"))
            }
            return .failure(.invalidRequest("the body must be a JSON-RPC request or notification object"))
        }
        guard json["jsonrpc"] == .string("2.0") else { return .failure(.invalidRequest("\"jsonrpc\" must be \"2.0\"")) }
        let id = json["id"]
        if let id, !ClientMessage.isValidID(id) {
            return .failure(.invalidRequest("\"id\" must be a string or an integer"))
        }
        if let method = json["method"] {
            guard let name = method.stringValue, !name.isEmpty else {
                return .failure(.invalidRequest("\"method\" must be a non-empty string", id: id))
            }
            let params = json["params"]
            if let params, params.objectValue == nil {
                return .failure(.invalidRequest("\"params\" must be an object", id: id))
            }
            guard let id else { return .success(.notification(method: name, params: params)) }
            return .success(.request(id: id, method: name, params: params))
        }
        guard let id, json["result"] != nil || json["error"] != nil else {
            return .failure(.invalidRequest("neither a request, a notification nor a response"))
        }
        return .success(.response(id: id, message: json))
    }

    static func isValidID(_ id: JSONValue) -> Bool {
        switch id {
        case .string, .int: true
        default: false
        }
    }
}
