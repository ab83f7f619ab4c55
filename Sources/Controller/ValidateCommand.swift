import Desired
import JSON

/// `controller validate`: every config layer and manifest, every error at once; the CI gate.
enum ValidateCommand {
    static func run(_ arguments: inout Arguments) throws(Arguments.Problem) -> Int32 {
        let format = try arguments.choice("--format", ["text", "json", "github"], default: "text")
        // --strict adds warnings (long-lived credentials where an identity route exists); like
        // every warning they are reported, and the exit status still counts errors only.
        let strict = arguments.flag("--strict")
        let workspace = try CommandRouter.workspace(&arguments)
        try arguments.finish()
        let process = Environment.process()
        let load = workspace.load(process)
        var found = load.diagnostics + EnvExample.undocumented(load, workspace: workspace)
        if strict, let state = load.state {
            found += StaticCredentialCheck.warnings(state, environment: workspace.environment(process).0)
        }
        let diagnostics = found.normalized()
        let errors = diagnostics.filter { $0.severity == .error }.count
        let warnings = diagnostics.count - errors
        let files = load.manifestFiles.count + load.configFiles.count
        switch format {
        case "json":
            Output.print(json(load, diagnostics, errors: errors, warnings: warnings).rendered(pretty: true))
        case "github":
            for diagnostic in diagnostics { Output.print(DiagnosticRenderer.github(diagnostic)) }
            Output.print(summary(load, errors: errors, warnings: warnings, files: files))
        default:
            var renderer = DiagnosticRenderer()
            for diagnostic in diagnostics { Output.print(renderer.text(diagnostic) + "\n") }
            Output.print(servers(load))
            Output.print(summary(load, errors: errors, warnings: warnings, files: files))
        }
        return errors > 0 ? 1 : 0
    }

    private static func summary(_ load: Workspace.Load, errors: Int, warnings: Int, files: Int) -> String {
        let verdict = errors > 0 ? "invalid" : "valid"
        let counts = "\(plural(errors, "error")), \(plural(warnings, "warning"))"
        return
            "\(verdict): \(plural(files, "file")) checked (\(plural(load.manifestFiles.count, "manifest")), \(plural(load.configFiles.count, "config layer"))); \(counts)"
    }

    /// Which servers will run and, grouped by reason, which will not.
    private static func servers(_ load: Workspace.Load) -> String {
        guard let state = load.state else { return "servers: unknown (the config is invalid)" }
        let running = state.servers.keys.sorted()
        var lines = ["will run (\(running.count)): \(running.isEmpty ? "none" : running.joined(separator: ", "))"]
        var byReason: [String: [String]] = [:]
        for (name, reason) in state.skipped { byReason[reason.description, default: []].append(name) }
        for (reason, names) in byReason.sorted(by: { $0.key < $1.key }) {
            lines.append("skipped, \(reason) (\(names.count)): \(names.sorted().joined(separator: ", "))")
        }
        return lines.joined(separator: "\n")
    }

    private static func json(_ load: Workspace.Load, _ diagnostics: [Diagnostic], errors: Int, warnings: Int) -> JSONValue {
        var servers: [JSONValue] = []
        if let state = load.state {
            for name in state.manifests.keys.sorted() {
                var pairs: [(String, JSONValue)] = [("name", .string(name))]
                // No spec hashes here: they cover secret values, and this output lands in CI logs.
                if state.servers[name] != nil {
                    pairs += [("status", "run")]
                } else {
                    pairs += [("status", "skipped"), ("reason", .string(state.skipped[name]?.description ?? "unknown"))]
                }
                servers.append(.object(pairs))
            }
        }
        return .object([
            ("valid", .bool(errors == 0)),
            ("errors", .int(errors)),
            ("warnings", .int(warnings)),
            ("files", .array((load.configFiles + load.manifestFiles).map { .string($0) })),
            ("diagnostics", .array(diagnostics.map(DiagnosticRenderer.json))),
            ("servers", .array(servers)),
        ])
    }

    private static func plural(_ count: Int, _ noun: String) -> String {
        "\(count) \(noun)\(count == 1 ? "" : "s")"
    }
}
