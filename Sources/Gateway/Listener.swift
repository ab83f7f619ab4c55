import HTTP
import JSON

/// One modern `subscriptions/listen` stream: the change notifications its client opted into,
/// each tagged with the subscription's id (the listen request's id), until the client closes
/// it or the gateway ends it with the graceful final result.
final class Listener: Sendable {
    struct Filter: Sendable, Hashable {
        var tools = false
        var prompts = false
        var resources = false

        /// What the client asked for, cut to what the server has (tools, prompts, resources):
        /// the gateway tells of changes after restarts whether or not the server announces
        /// them itself. Resource subscriptions are not agreed: the gateway does not hold
        /// per-client subscriptions at a server yet.
        init(requested: JSONValue?, capabilities: JSONValue) {
            tools = requested?["toolsListChanged"] == .bool(true) && capabilities["tools"] != nil
            prompts = requested?["promptsListChanged"] == .bool(true) && capabilities["prompts"] != nil
            resources = requested?["resourcesListChanged"] == .bool(true) && capabilities["resources"] != nil
        }

        var agreed: JSONValue {
            var pairs: [(String, JSONValue)] = []
            if tools { pairs.append(("toolsListChanged", true)) }
            if prompts { pairs.append(("promptsListChanged", true)) }
            if resources { pairs.append(("resourcesListChanged", true)) }
            return .object(pairs)
        }

        func wants(_ method: String) -> Bool {
            switch method {
            case "notifications/tools/list_changed": tools
            case "notifications/prompts/list_changed": prompts
            case "notifications/resources/list_changed": resources
            default: false
            }
        }
    }

    let server: String
    let id: JSONValue
    let filter: Filter
    let stream: HTTPStream

    init(server: String, id: JSONValue, filter: Filter, stream: HTTPStream) {
        self.server = server
        self.id = id
        self.filter = filter
        self.stream = stream
    }

    private var tag: JSONValue { .object([("io.modelcontextprotocol/subscriptionId", id)]) }

    /// The first message on the stream (S7: before any notification).
    func acknowledge() {
        let params: JSONValue = .object([("_meta", tag), ("notifications", filter.agreed)])
        stream.write(SSEMessage.event(RPCReply.notification("notifications/subscriptions/acknowledged", params: params)))
    }

    /// Sends a server notification if the client opted into it.
    func deliver(_ method: String, params: JSONValue?) {
        guard filter.wants(method) else { return }
        let tagged = (params ?? .object([])).setting("_meta", to: tag)
        stream.write(SSEMessage.event(RPCReply.notification(method, params: tagged)))
    }

    /// The graceful end: the listen request's result, then the stream closes.
    func end() {
        let result: JSONValue = .object([("resultType", "complete"), ("_meta", tag)])
        stream.write(SSEMessage.event(RPCReply.result(id: id, result)))
        stream.finish()
    }
}

/// JSON-RPC messages as Server-Sent Events (`event: message`, one `data:` line: compact JSON
/// has no line breaks).
enum SSEMessage {
    static func event(_ message: JSONValue) -> [UInt8] {
        var bytes = Array("event: message\ndata: ".utf8)
        bytes += message.renderedBytes()
        bytes += [0x0A, 0x0A]
        return bytes
    }

    /// Headers of every SSE response the gateway starts.
    static let headers: [(String, String)] = [("X-Accel-Buffering", "no")]
}
