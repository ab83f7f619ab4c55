import Dispatch
import Glibc
import Synchronization

/// The MCP server proper: classifies each stdin line, applies the era rules, runs tools and
/// answers through the `Responder`.
///
/// `receive(line:)` is called on one reader thread in arrival order. Everything but `sleep`
/// is answered before the next line is read, so pipelined `initialize` → `tools/list` and
/// request → `notifications/cancelled` keep their order; `sleep` runs in a task so it never
/// holds up other requests.
final class DemoServer: Sendable {
    private let options: DemoOptions
    private let identity: ServerIdentity
    private let output: OutputChannel
    private let responder: Responder
    private let inFlight = InFlightRegistry()
    /// Set once a legacy `initialize` has been answered; un-enveloped requests need it.
    private let initialized = Mutex(false)
    /// `roots` calls waiting for the client's answer, by the id of the request sent to it.
    private let asking = Mutex<(next: Int, waiting: [String: @Sendable (JSONValue) -> Void])>((0, [:]))

    init(options: DemoOptions, output: OutputChannel) {
        self.options = options
        self.output = output
        identity = ServerIdentity(name: options.name)
        responder = Responder(output: output, options: options)
    }

    /// Handles one line from stdin (without its newline).
    func receive(line: [UInt8]) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(line)
        } catch {
            StandardError.log("parse error at \(error)")
            responder.reject(id: nil, RPCError(code: RPCError.parseError, message: "Parse error: \(error.message)"))
            return
        }
        // The client's answer to a request of ours (`roots`): not a request or notification.
        if value["method"] == nil, let id = value["id"]?.stringValue,
            let waiter = asking.withLock({ $0.waiting.removeValue(forKey: id) })
        {
            waiter(value)
            return
        }
        switch InboundMessage(value) {
        case .invalid(let id, let reason):
            responder.reject(id: id, .invalidRequest("Invalid Request: \(reason)"))
        case .notification(let method, let params):
            receive(notification: method, params: params)
        case .request(let id, let method, let params):
            receive(request: id, method: method, params: params)
        }
    }

    /// Stdin is closed: stop in-flight `sleep` calls (they send nothing more), give other work
    /// a moment to finish its line, and exit 0.
    func shutdown() -> Never {
        inFlight.cancelAll()
        // Cancelled sleeps notice within one poll interval; the bound only guards against a bug.
        for _ in 0..<400 where !inFlight.isEmpty { usleep(5_000) }
        output.terminate(code: 0)
    }

    private func receive(notification method: String, params: JSONValue?) {
        switch method {
        case "notifications/cancelled":
            guard let id = params?["requestId"].flatMap(RequestID.init) else { return }
            if inFlight.cancel(id) { StandardError.log("cancelled request \(String(decoding: id.json.encoded(), as: UTF8.self))") }
        default:
            // `notifications/initialized` needs no action (`initialize` already set the state);
            // anything else is unknown and, per JSON-RPC, ignored.
            break
        }
    }

    private func receive(request id: RequestID, method: String, params: JSONValue?) {
        if options.stderrEveryRequest {
            // The trace context the client (the controller's gateway) passed, for tests.
            let traceparent = params?["_meta"]?["traceparent"]?.stringValue.map { " traceparent=" + String($0.prefix(64)) } ?? ""
            StandardError.log(method + traceparent)
        }
        if options.noHandshake, method == "server/discover" || method == "initialize" { return }
        if responder.shouldHang(method) { return }
        do {
            if let result = try route(id: id, method: method, params: params) {
                responder.respond(to: id, .success(result))
            }
        } catch {
            responder.respond(to: id, .failure(error))
        }
    }

    /// The result for a request, or nil when the answer will come later (a `sleep` task).
    private func route(id: RequestID, method: String, params: JSONValue?) throws(RPCError) -> JSONValue? {
        let era = options.era
        switch method {
        case "server/discover":
            guard era.servesModern else { throw .methodNotFound(method) }
            // Only an envelope that is present is checked: a bare probe still learns the versions.
            if ModernEnvelope.isPresent(in: params) { try ModernEnvelope.validate(params) }
            return identity.discoverResult(era: era)
        case "initialize":
            return try initialize(params)
        default:
            break
        }
        if ModernEnvelope.isPresent(in: params) {
            guard era.servesModern else {
                throw .invalidRequest(
                    "Invalid Request: this server speaks only the handshake era (\(ProtocolVersion.handshake[0]) and earlier); "
                        + "requests with a 2026-07-28 _meta envelope are not accepted"
                )
            }
            try ModernEnvelope.validate(params)
            switch method {
            case "tools/list": return identity.modernize(toolsList(), cacheable: true)
            case "tools/call": return try callTool(id: id, params: params, modern: true)
            default: throw .methodNotFound(method)
            }
        }
        switch method {
        case "ping":
            guard era.servesLegacy else { throw .methodNotFound(method) }
            return .object([])
        case "tools/list", "tools/call":
            guard era.servesLegacy else {
                throw .invalidParams("Invalid params: missing required _meta field \"\(ProtocolVersion.versionKey)\"")
            }
            guard initialized.withLock({ $0 }) else { throw .invalidRequest("server not initialized") }
            return method == "tools/list" ? toolsList() : try callTool(id: id, params: params, modern: false)
        default:
            throw .methodNotFound(method)
        }
    }

    /// The legacy handshake: echo a known handshake version, else offer the newest one.
    private func initialize(_ params: JSONValue?) throws(RPCError) -> JSONValue {
        let requested = params?["protocolVersion"]?.stringValue
        guard options.era.servesLegacy else {
            throw ProtocolVersion.unsupported(
                requested: requested ?? "",
                message: "This server speaks only \(ProtocolVersion.modern); the initialize handshake is not accepted"
            )
        }
        guard let requested else { throw .invalidParams("Invalid params: protocolVersion must be a string") }
        let version = ProtocolVersion.handshake.contains(requested) ? requested : ProtocolVersion.handshake[0]
        initialized.withLock { $0 = true }
        return identity.initializeResult(version: version)
    }

    private func toolsList() -> JSONValue {
        .object([("tools", .array(ToolCatalogue.definitions(askRoots: options.askRoots)))])
    }

    /// Runs a tool. Unknown tools and a missing name are protocol errors (-32602); bad
    /// arguments are tool errors (`isError: true`).
    private func callTool(id: RequestID, params: JSONValue?, modern: Bool) throws(RPCError) -> JSONValue? {
        guard let name = params?["name"]?.stringValue else { throw .invalidParams("Invalid params: name must be a string") }
        guard let tool = ToolName(rawValue: name), tool != .roots || options.askRoots else {
            throw .invalidParams("Unknown tool: \(name)")
        }
        let identity = identity
        let finish: @Sendable (ToolResult) -> JSONValue = { modern ? identity.modernize($0.json, cacheable: false) : $0.json }
        let arguments = params?["arguments"] ?? .object([])
        guard arguments.isObject else { return finish(.failure("Invalid arguments for \(name): arguments must be an object.")) }
        switch tool {
        case .echo: return finish(InstantTools.echo(arguments))
        case .add: return finish(InstantTools.add(arguments))
        case .clock: return finish(InstantTools.clock())
        case .fetch:
            // Blocking socket I/O (bounded by its timeouts): on a dispatch thread, never the reader.
            let responder = responder
            DispatchQueue.global().async { responder.respond(to: id, .success(finish(FetchTool.run(arguments)))) }
            return nil
        case .roots:
            // 2026-07-28 servers may not send requests (they return input_required instead).
            guard !modern else { return finish(.failure("roots asks the client in the handshake era only")) }
            askRoots(id: id, finish: finish)
            return nil
        case .sleep:
            guard let milliseconds = SleepTool.duration(arguments) else { return finish(SleepTool.invalidArguments) }
            let token = params?["_meta"]?["progressToken"].flatMap { RequestID($0)?.json }
            startSleep(id: id, milliseconds: milliseconds, progressToken: token, finish: finish)
            return nil
        }
    }

    /// Sends `roots/list` to the client; its answer completes the `roots` call `id`.
    private func askRoots(id: RequestID, finish: @escaping @Sendable (ToolResult) -> JSONValue) {
        let responder = responder
        let ask = asking.withLock { (state: inout (next: Int, waiting: [String: @Sendable (JSONValue) -> Void])) -> String in
            state.next += 1
            let ask = "demo-ask-\(state.next)"
            state.waiting[ask] = { reply in
                let outcome: ToolResult
                if case .array(let roots)? = reply["result"]?["roots"] {
                    outcome = ToolResult(text: roots.compactMap { $0["uri"]?.stringValue }.joined(separator: "\n"))
                } else {
                    outcome = .failure("the client did not list its roots: \(reply["error"]?["message"]?.stringValue ?? "no result")")
                }
                responder.respond(to: id, .success(finish(outcome)))
            }
            return ask
        }
        output.send(notification: .object([("jsonrpc", .string("2.0")), ("id", .string(ask)), ("method", .string("roots/list"))]))
    }

    private func startSleep(
        id: RequestID, milliseconds: Int, progressToken: JSONValue?, finish: @escaping @Sendable (ToolResult) -> JSONValue
    ) {
        guard let request = inFlight.register(id) else {
            responder.respond(to: id, .failure(.invalidRequest("Invalid Request: a request with this id is already in flight")))
            return
        }
        let output = output
        let responder = responder
        let inFlight = inFlight
        Task.detached {
            let completed = await SleepTool.run(milliseconds: milliseconds, progressToken: progressToken, request: request, output: output)
            if completed {
                let result = finish(ToolResult(text: "slept \(milliseconds) ms"))
                request.unlessCancelled { responder.respond(to: id, .success(result)) }
            }
            inFlight.finish(id)
        }
    }
}
