import Actual
import CSystem
import Desired
import Egress
import Foundation
import Gateway
import HTTP
import JSON
import Reconciler

/// `controller run`: the wiring of watcher, reconciler, supervisor, admin HTTP surface, logs and
/// audit, and the shutdown order.
actor Daemon {
    private let workspace: Workspace
    private let process: Environment
    private let listenOverride: String?
    private let logger: Logger
    private let feed = EventFeed()
    private let metrics = Metrics()
    private let clock = SystemClock()
    private var audit: AuditLog?
    private var supervisor: Supervisor?
    private var executor: Executor?
    private var server: HTTPServer?
    private var gateway: Gateway?
    private var egress: EgressProxy?
    /// Span export (`otel.enabled`); nil when tracing is off.
    private var traces: TraceWiring?
    private var load: Workspace.Load?
    private var reload = ReloadRecord(at: Date(), successful: true, problems: [], keptLastGood: [])
    private var auth = BearerAuthenticator(list: "")
    private var origins = OriginPolicy(allowed: [])
    private var shuttingDown = false
    /// A rescan was asked for: the next reload parses every file.
    private var fullReadDue = false
    /// Files the last reload parsed (the rest were unchanged), for its log line.
    private var parsedLast = 0
    private var capacity = Capacity(descriptorLimit: 1024, startWindow: 1)
    /// CPUs online (for the start window's default).
    private static let cores = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    /// Keys the spec hashes `/status` shows for this run (they cover secret values).
    private let fingerprint = SpecFingerprint()
    /// Every secret value seen since start: a rotated or disabled server's old process may
    /// still write its old token while it drains.
    private var knownSecrets: Set<String> = []
    /// Redacts responses (`/status`, `/readyz`) as the logs are; rebuilt when secrets change.
    private var redactor = Redactor()
    private var loads = 0

    init(workspace: Workspace, process: Environment, listen: String?) {
        self.workspace = workspace
        self.process = process
        listenOverride = listen
        let feed = feed
        logger = Logger(level: .info) { line in
            Logger.stdout(line)
            feed.publish(line)
        }
    }

    /// Starts everything; returns the exit status when it cannot start (nil: running).
    func start() async -> Int32? {
        let first = workspace.load(process)
        parsedLast = first.parsed.parsedCount
        guard let state = first.state else {
            // A diagnostic may quote a resolved value: redacted as the logs would be.
            let redactor = Redactor(secrets: Daemon.secrets(first.manifests, environment: workspace.environment(process).0))
            for diagnostic in first.diagnostics { Output.error(redactor.redact(diagnostic.description)) }
            Output.error("controller run: the config is invalid; nothing started")
            return 1
        }
        let config = state.config
        let (environment, _) = workspace.environment(process)
        logger.configure(level: config.logLevel, secrets: Daemon.secrets(state, environment: environment))
        auth = BearerAuthenticator(list: environment[config.tokensEnv] ?? "")
        origins = OriginPolicy(allowed: config.allowedOrigins)
        var listen = config.listen
        if let text = listenOverride {
            guard let address = ListenAddress(text) else {
                Output.error("controller run: --listen \(text) is not HOST:PORT")
                return 2
            }
            listen = address
        }
        guard listen.isLoopback || auth.isEnabled else {
            Output.error("controller run: listening on \(listen) (not loopback) requires tokens in \(config.tokensEnv)")
            return 2
        }
        let root = workspace.root
        let auditPath = config.auditPath.hasPrefix("/") ? config.auditPath : root + "/" + config.auditPath
        let audit = AuditLog(path: auditPath, maxSize: config.auditMaxSize, keep: config.auditKeep)
        audit.configure(secrets: Daemon.secrets(state, environment: environment))
        self.audit = audit
        let egressReporter = EgressReporter(logger: logger, audit: audit)
        let egress: EgressProxy
        do {
            egress = try EgressProxy(settings: config.proxy) { egressReporter.report($0) }
        } catch {
            Output.error("controller run: egress proxy: \(error)")
            return 2
        }
        self.egress = egress
        logger.log(.info, "egress.listening", "egress proxy on 127.0.0.1:\(egress.port)", fields: [("port", .int(Int(egress.port)))])
        let supervisor = Supervisor(
            options: SupervisorOptions(root: root, stateDirectory: root + "/var", environment: process, egress: egress))
        self.supervisor = supervisor
        await supervisor.reclaimLeftovers()
        // Once, before anything starts: whether `isolation: network` servers can run here (the
        // supervisor keeps the answer; a server that cannot run is held with the reason).
        logger.log(.info, "isolation", "isolation: network \(await IsolationProbe.support())")
        if config.otelEnabled {
            switch TraceWiring.make(config, logger: logger) {
            case .success(let wiring):
                wiring.start()
                traces = wiring
                logger.log(.info, "otel.enabled", "exporting spans to \(wiring.endpoint)")
            case .failure(let error):
                Output.error("controller run: otel.endpoint: \(error)")
                return 2
            }
        }
        let reporter = GatewayReporter(logger: logger, audit: audit, traces: traces)
        var gatewayOptions = Gateway.Options()
        gatewayOptions.sessionKey = SessionKeyFile.load(root: root)
        if gatewayOptions.sessionKey == nil {
            logger.log(.warning, "session.key", "cannot read or create \(root)/var/session.key: legacy sessions end with the controller")
        }
        let maxAge = gatewayOptions.sessionMaxAge.components.seconds
        if let (file, ended) = EndedSessionsFile.open(root: root, maxAge: maxAge, now: Int64(Date().timeIntervalSince1970)) {
            gatewayOptions.endedSessions = ended
            gatewayOptions.recordEndedSession = { key, issued in file.record(key, issued: issued) }
        } else {
            logger.log(.warning, "session.ended", "cannot keep \(root)/var/sessions.ended: a deleted session comes back after a restart")
        }
        let gateway = Gateway(clock: clock, options: gatewayOptions) { reporter.report($0) }
        gateway.configureAccess(tokens: environment[config.tokensEnv] ?? "", allowedOrigins: config.allowedOrigins)
        self.gateway = gateway
        // Thousands of client connections and servers need descriptors beyond the usual soft
        // limit of 1,024.
        let descriptors = Int(omni_raise_nofile_limit())
        capacity = Capacity(descriptorLimit: descriptors, startWindow: config.startWindow(cores: Daemon.cores))
        let executor = Executor(
            supervisor: supervisor, clock: clock, rollout: RolloutPolicy(maxUnavailablePercent: config.maxUnavailablePercent),
            startWindow: config.startWindow(cores: Daemon.cores), spawnRate: Int(config.spawnRate.rounded(.up)), resync: config.resync,
            router: gateway)
        self.executor = executor
        do {
            // Health probes are answered even when other clients hold every connection slot.
            // The admin API reads no bodies but `/plan`'s (a root's files, up to 16 MiB): 64 KiB
            // keeps thousands of connections from each holding megabytes. MCP messages may be
            // up to 4 MiB.
            let limits = HTTPLimits(body: 64 << 10, bodyByPrefix: [Gateway.aggregatePath: 4 << 20, "/plan": DryRunRequest.maxBody])
            let server = try HTTPServer(host: listen.host, port: listen.port, limits: limits, alwaysServe: ["/healthz", "/readyz"]) {
                [weak self] request, responder in
                // Liveness needs no state: answered on the I/O thread, with no task hop.
                if request.target == "/healthz", request.method == "GET" || request.method == "HEAD" {
                    responder.respond(Daemon.alive)
                    return
                }
                // The MCP front door answers on the I/O thread too: no task per request.
                if request.path.hasPrefix(Gateway.pathPrefix) || request.path == Gateway.aggregatePath {
                    gateway.handle(request, responder)
                    return
                }
                let task = Task {
                    responder.respond(await self?.route(request) ?? .text(503, "shutting down\n"))
                }
                responder.onCancel { task.cancel() }
            }
            server.start()
            self.server = server
            logger.log(
                .info, "listening", "admin API on http://\(listen.host):\(server.port)",
                fields: [("port", .int(server.port)), ("descriptor_limit", .int(descriptors))])
        } catch {
            Output.error("controller run: \(error)")
            return 2
        }
        let events = EventReporter(logger: logger, audit: audit, metrics: metrics)
        Task { [traces] in
            for await event in executor.events {
                events.report(event)
                Daemon.inform(gateway, of: event)
                traces?.observe(event)
            }
        }
        Task { await executor.run() }
        accept(first, cause: "start")
        watch(debounce: config.debounce, resync: config.resync)
        return nil
    }

    /// Re-reads the files; an invalid one keeps its last good content (DESIGN.md principle 3).
    /// Files whose stamp is unchanged since the last load are not parsed again, unless `full`
    /// (SIGHUP) or a rescan was asked for since (the watcher lost events or a directory was
    /// replaced: nothing it reported can be trusted).
    func reloadFiles(cause: String, full: Bool = false) {
        guard !shuttingDown else { return }
        let reuse = full || fullReadDue ? nil : load?.parsed
        fullReadDue = false
        let next = workspace.load(process, lastGood: load?.lastGood, reuse: reuse)
        parsedLast = next.parsed.parsedCount
        accept(next, cause: cause)
    }

    /// The next reload reads every file (see `reloadFiles`).
    private func dueFullRead() { fullReadDue = true }

    private func accept(_ next: Workspace.Load, cause: String) {
        let errors = next.diagnostics.filter { $0.severity == .error }
        let successful = errors.isEmpty && next.state != nil
        metrics.reload(successful: successful)
        reload = ReloadRecord(
            at: Date(), successful: successful, problems: next.diagnostics.map(\.description), keptLastGood: next.keptLastGood)
        let previous = load?.state
        // The secrets of this load are known before its diagnostics are logged: one may quote
        // a value that no earlier load had.
        let environment = workspace.environment(process).0
        knownSecrets.formUnion(Daemon.secrets(next.manifests, environment: environment))
        if let state = next.state { knownSecrets.formUnion(Daemon.secrets(state, environment: environment)) }
        let secrets = Array(knownSecrets)
        redactor = Redactor(secrets: secrets)
        logger.configure(level: next.state?.config.logLevel, secrets: secrets)
        audit?.configure(secrets: secrets)
        for diagnostic in next.diagnostics {
            logger.log(diagnostic.severity == .error ? .error : .warning, "config.problem", diagnostic.description)
        }
        guard let state = next.state else {
            logger.log(.error, "config.rejected", "the config is invalid; keeping the last good state (\(cause))")
            audit?.record(
                "reload",
                [
                    ("cause", .string(cause)), ("successful", false),
                    ("problems", .array(errors.prefix(20).map { .string($0.description) })),
                ])
            return
        }
        load = next
        gateway?.configure(from: state)
        configureEgress(state)
        let changes = Daemon.changes(from: previous, to: state)
        audit?.record(
            "reload",
            [
                ("cause", .string(cause)), ("successful", .bool(successful)), ("changes", .array(changes.map { .string($0) })),
                ("kept_last_good", .array(next.keptLastGood.map { .string($0) })),
                ("problems", .array(errors.prefix(20).map { .string($0.description) })),
            ])
        logger.log(
            successful ? .info : .warning, "config.loaded",
            "\(state.servers.count) server(s) to run, \(state.skipped.count) skipped"
                + (changes.isEmpty ? "" : "; " + changes.joined(separator: "; ")),
            fields: [("cause", .string(cause)), ("files_parsed", .int(parsedLast))])
        let config = state.config
        if let old = previous?.config,
            (old.otelEnabled, old.otelEndpoint, old.otelServiceName) != (config.otelEnabled, config.otelEndpoint, config.otelServiceName)
        {
            logger.log(.warning, "otel.restart_needed", "otel settings changed: they take effect when the controller restarts")
        }
        capacity.startWindow = config.startWindow(cores: Daemon.cores)
        if state.servers.count > capacity.serversAllowed {
            logger.log(
                .warning, "capacity",
                "\(state.servers.count) servers to run, but the descriptor limit (\(capacity.descriptorLimit)) allows about "
                    + "\(capacity.serversAllowed): raise the hard RLIMIT_NOFILE (LimitNOFILE= in systemd)")
        }
        Task { [executor, capacity] in
            await executor?.apply(
                state, rollout: RolloutPolicy(maxUnavailablePercent: config.maxUnavailablePercent), startWindow: capacity.startWindow,
                spawnRate: Int(config.spawnRate.rounded(.up)), resync: config.resync)
        }
    }

    /// The proxy learns every server's current egress list (before any process of this state
    /// starts) and the static host map. Its listen address and timeouts are read at start.
    private func configureEgress(_ state: DesiredState) {
        guard let egress else { return }
        egress.configure(egress: state.servers.mapValues(\.egress))
        for name in egress.configureHosts(state.config.proxy.hosts) {
            logger.log(.warning, "config.problem", "proxy.hosts.\(name) is not an IP address; the entry is ignored")
        }
    }

    /// Debounced file watching (the quiet period of the config at start), plus the periodic
    /// resync (which also covers a missing inotify) at the period of the config in force.
    private func watch(debounce: Duration, resync: Duration) {
        let watcher = FileWatcher(root: workspace.root)
        if !watcher.start() { logger.log(.warning, "watch.unavailable", "inotify is unavailable; changes are seen at the resync") }
        let clock = clock
        let debouncer = Debouncer(quiet: debounce, clock: clock) { cause in await self.reloadFiles(cause: cause) }
        Task {
            for await change in watcher.changes {
                switch change {
                case .file(let path, let complete): await debouncer.signal("changed: \(path)", immediate: complete)
                case .rescan(let why):
                    self.dueFullRead()
                    await debouncer.signal("rescan: \(why)")
                }
            }
        }
        Task {
            while true {
                // The period of the config in force: a reload may have changed it.
                try? await clock.sleep(for: self.load?.state?.config.resync ?? resync)
                self.reloadFiles(cause: "resync")
            }
        }
    }

    /// Graceful shutdown: stop accepting, stop every server, flush. `fast` shortens the stop.
    func shutdown(reason: String) async {
        guard !shuttingDown else { return }
        shuttingDown = true
        logger.log(.info, "shutdown", "stopping: \(reason)")
        // New requests are refused from here; those in flight get up to 10 s to be answered
        // through the HTTP server, which stops only then.
        gateway?.shutdown()
        if let left = await gateway?.quiesce(within: .seconds(10)), left > 0 {
            logger.log(.warning, "shutdown.cut", "\(left) gateway requests still in flight after 10 s: they fail with their servers")
        }
        await server?.stop(grace: .seconds(2))
        await executor?.shutdown(reason: reason)
        egress?.shutdown()
        // What is queued goes to the collector, within a short deadline.
        if let left = await traces?.shutdown(within: .seconds(2)), left > 0 {
            logger.log(.warning, "otel.shutdown", "\(left) span(s) not exported before shutdown")
        }
        audit?.record("shutdown", [("reason", .string(reason))])
        audit?.close()
        logger.log(.info, "shutdown.done", "every server stopped")
    }

    // MARK: - HTTP

    private static let alive = HTTPResponse.text(200, "ok\n")

    private func route(_ request: HTTPRequest) async -> HTTPResponse {
        // Probes need no credentials (DESIGN.md principle 6): /healthz and /readyz are open, and
        // /readyz names no server to a caller without a token.
        // A page in a browser may not read the controller's state: only loopback origins and
        // `auth.allowed_origins` pass (requests without `Origin` are not from a page).
        guard origins.allows(request.header("Origin")) else { return .text(403, "origin not allowed\n") }
        let authorized = !auth.isEnabled || auth.accepts(authorization: request.header("Authorization"))
        if !authorized, request.path != "/healthz", request.path != "/readyz" {
            return HTTPResponse(status: 401, headers: [("WWW-Authenticate", "Bearer")], body: .bytes(Array("unauthorized\n".utf8)))
        }
        let allowed = request.path == "/plan" ? ["POST"] : ["GET", "HEAD"]
        guard allowed.contains(request.method) else {
            let allow = allowed.joined(separator: ", ")
            return HTTPResponse(status: 405, headers: [("Allow", allow)], body: .bytes(Array("method not allowed\n".utf8)))
        }
        switch request.path {
        case "/plan":
            return await dryRun(request)
        case "/healthz":
            return Daemon.alive
        case "/readyz":
            guard let state = load?.state, let supervisor, let executor else { return .text(503, "starting\n") }
            let notReady = StatusReport.readiness(desired: state, actual: await supervisor.snapshot(), holds: await executor.currentHolds)
            if notReady.isEmpty { return .text(200, authorized ? "ready: \(state.servers.count) server(s)\n" : "ready\n") }
            guard authorized else { return .text(503, "not ready\n") }
            return .text(503, "not ready:\n" + notReady.map { "  \($0.0): \(redactor.redact($0.1))\n" }.joined())
        case "/status":
            guard let state = load?.state, let supervisor, let executor else { return .text(503, "starting\n") }
            let json = StatusReport.json(
                desired: state, actual: await supervisor.snapshot(withStats: true), holds: await executor.currentHolds, reload: reload,
                generation: await executor.currentGeneration, now: clock.now, fingerprint: fingerprint,
                capacity: capacity.json(startsWaiting: await executor.startsWaiting))
            // Through the same redactor as the logs: a skipped server's reason may quote a value.
            let redacted = Logger.redacted(json, redactor)
            return .text(200, redacted.rendered(pretty: true) + "\n", contentType: "application/json")
        case "/events":
            return .eventStream(feed.subscribe())
        case "/metrics":
            guard let supervisor else { return .text(503, "starting\n") }
            let desired = Set(load?.state?.servers.keys.map { $0 } ?? [])
            let text = metrics.render(
                actual: await supervisor.snapshot(), desired: desired, probes: supervisor.probeTally.snapshot(), http: server?.stats,
                streams: feed.subscribers, droppedEvents: supervisor.droppedEvents)
            let egressText = egress.map { EgressMetrics.render($0.stats()) } ?? ""
            return .text(
                200, text + (gateway?.metricsText() ?? "") + egressText + (traces?.metricsText() ?? ""),
                contentType: "text/plain; version=0.0.4; charset=utf-8")
        default:
            return .text(404, "not found: \(request.path)\n")
        }
    }

    /// `POST /plan` (`controller diff --against`): the files in the body loaded exactly as a
    /// reload would load them (this controller's environment, `.env`, layer name and built-in
    /// layer), planned by the executor against the processes it runs, applying nothing. The
    /// answer (the report, or 422 with the diagnostics) goes through a redactor that also knows
    /// the secrets the sent manifests name.
    private func dryRun(_ request: HTTPRequest) async -> HTTPResponse {
        guard load?.state != nil, let executor else { return .text(503, "starting\n") }
        let sent: DryRunRequest
        do {
            sent = try DryRunRequest(body: request.body)
        } catch {
            return Daemon.json(400, .object([("error", .string("not a plan request: \(error)"))]))
        }
        let environment = workspace.environment(process).0
        let files = Workspace(root: sent.root, envName: workspace.envName, limits: workspace.limits, files: .sent(sent.files))
        let loaded = files.load(environment)
        let redactor = Redactor(secrets: Array(knownSecrets) + Daemon.secrets(loaded.manifests, environment: environment))
        let errors = loaded.diagnostics.filter { $0.severity == .error }
        let layer: JSONValue = files.layerName(environment).map { .string($0) } ?? .null
        guard let state = loaded.state, errors.isEmpty else {
            let body: JSONValue = .object([
                ("error", "the files are invalid"), ("env", layer), ("diagnostics", .array(errors.map { .string($0.description) })),
            ])
            return Daemon.json(422, Logger.redacted(body, redactor))
        }
        let (plan, actual) = await executor.dryRun(state)
        let report = PlanReport(desired: state, actual: actual, plan: plan)
        logger.log(.info, "plan.dry_run", "\(sent.root): \(report.summary)", fields: [("files", .int(sent.files.count))])
        let warnings = loaded.diagnostics.filter { $0.severity != .error }.map { JSONValue.string($0.description) }
        var pairs: [(String, JSONValue)] = [("root", .string(sent.root)), ("env", layer)]
        pairs += report.json.objectValue ?? []
        pairs.append(("warnings", .array(warnings)))
        return Daemon.json(200, Logger.redacted(.object(pairs), redactor))
    }

    private static func json(_ status: Int, _ value: JSONValue) -> HTTPResponse {
        .text(status, value.rendered(pretty: true) + "\n", contentType: "application/json")
    }

    // MARK: - Helpers

    /// What the gateway learns from the reconciler's events besides routing (which the
    /// executor drives): why a server has no process, and notifications to relay.
    static func inform(_ gateway: Gateway, of event: ReconcileEvent) {
        switch event {
        case .hold(let server, let hold):
            gateway.hold(server, hold.map(Daemon.serverHold))
        case .actual(.session(let id, .notification(let method, let params))):
            gateway.relay(from: id, method: method, params: params)
        default:
            break
        }
    }

    /// The executor's hold as the gateway needs it: whether a process is coming, and when.
    static func serverHold(_ hold: Hold) -> ServerHold {
        switch hold {
        case .backoff(let until, _): ServerHold(reason: "\(hold)", restarts: true, startsAt: until)
        case .queued: ServerHold(reason: "\(hold)", restarts: true)
        case .quarantined, .finished: ServerHold(reason: "\(hold)", restarts: false)
        }
    }

    /// Every secret value the controller may meet: those of running servers, those of every
    /// other manifest (a skipped or disabled server's reason can quote one), and the API tokens.
    static func secrets(_ state: DesiredState, environment: Environment) -> [String] {
        var values = state.servers.values.flatMap(\.secretValues) + secrets(Array(state.manifests.values), environment: environment)
        values += (environment[state.config.tokensEnv] ?? "").split(separator: ",").map {
            String($0).trimmingCharacters(in: .whitespaces)
        }
        return values
    }

    /// The values of the variables these manifests declare as `secrets:`.
    static func secrets(_ manifests: [Manifest], environment: Environment) -> [String] {
        manifests.flatMap { manifest in manifest.secrets.compactMap { environment[$0] }.filter { !$0.isEmpty } }
    }

    /// For the audit trail: which servers appeared, went, or changed between two states.
    static func changes(from old: DesiredState?, to new: DesiredState) -> [String] {
        let before = old?.servers ?? [:]
        var out: [String] = []
        for name in Set(before.keys).union(new.servers.keys).sorted() {
            switch (before[name], new.servers[name]) {
            case (nil, .some): out.append("+ \(name)")
            case (.some, nil): out.append("- \(name) (\(new.skipped[name].map { "\($0)" } ?? "removed"))")
            case (let a?, let b?) where a.processHash != b.processHash:
                out.append("~ \(name) (\(SpecDiff.process(from: a, to: b).joined(separator: ", ")))")
            case (let a?, let b?) where a.policyHash != b.policyHash:
                out.append("~ \(name) (\(SpecDiff.policies(from: a, to: b).joined(separator: ", ")))")
            default: break
            }
        }
        return out
    }
}
