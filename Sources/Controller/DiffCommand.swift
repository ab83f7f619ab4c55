import Desired
import Foundation
import JSON

/// `controller diff [--against URL] [--format text|json]`: what the files on disk would change,
/// against a running controller's `/status` or, without `--against`, an empty world. Like
/// `kubectl diff`: exit 0 no changes, 1 changes, 2 error.
enum DiffCommand {
    static let help = """
        usage: controller diff [--root DIR] [--env NAME] [--against URL] [--format text|json]

        Prints the plan between the files and a running controller (--against, e.g.
        http://127.0.0.1:8765) or an empty world: + spawn, ~ replace, ~ update, - stop, and the
        servers skipped with their reason. Exit 0: no changes; 1: changes; 2: error.
        Replacements are detected through the salted hashes in /status, which need the same
        root's var/hash-salt (run diff on the controller's machine and root).
        """

    struct Change {
        var action: String
        var server: String
        var reason: String
    }

    static func run(_ arguments: [String]) async -> Int32 {
        var arguments = Arguments(arguments)
        if arguments.wantsHelp() {
            Output.print(help)
            return 0
        }
        let workspace: Workspace
        let against: String?
        let format: String
        do {
            workspace = try CommandRouter.workspace(&arguments)
            against = try arguments.option("--against")
            format = try arguments.choice("--format", ["text", "json"], default: "text")
            try arguments.finish()
        } catch {
            Output.error("controller diff: \(error)\n\n\(help)")
            return 2
        }
        let process = Environment.process()
        let load = workspace.load(process)
        let errors = load.diagnostics.filter { $0.severity == .error }
        guard let desired = load.state, errors.isEmpty else {
            for diagnostic in errors { Output.error(diagnostic.description) }
            Output.error("controller diff: the files are invalid (controller validate says more)")
            return 2
        }
        let salt = HashSalt.load(root: workspace.root, create: false)
        if against != nil, salt == nil {
            Output.error(
                "controller diff: no \(workspace.root)/var/hash-salt: replacements cannot be compared; "
                    + "run diff with the controller's own --root on its machine")
            return 2
        }
        var running: [String: JSONValue] = [:]
        if let against {
            let client = AdminClient.resolve(url: against, workspace: workspace, process: process)
            do {
                let (status, body) = try await client.get("/status")
                guard status == 200, let json = try? JSONParser.parse(body), let servers = json["servers"]?.arrayValue else {
                    Output.error("controller diff: \(against)/status answered \(status)")
                    return 2
                }
                for server in servers {
                    if let name = server["name"]?.stringValue, let newest = server["instances"]?.arrayValue?.last { running[name] = newest }
                }
            } catch {
                Output.error("controller diff: \(error)")
                return 2
            }
        }
        let changes = plan(desired: desired, running: running, salt: salt)
        let skipped = desired.skipped.filter { running[$0.key] == nil }.sorted { $0.key < $1.key }
        if format == "json" {
            let json: JSONValue = .object([
                (
                    "changes",
                    .array(
                        changes.map {
                            .object([("action", .string($0.action)), ("server", .string($0.server)), ("reason", .string($0.reason))])
                        })
                ),
                ("skipped", .array(skipped.map { .object([("server", .string($0.key)), ("reason", .string("\($0.value)"))]) })),
            ])
            Output.print(json.rendered(pretty: true))
        } else {
            for change in changes {
                let sign = change.action == "spawn" ? "+" : change.action == "stop" ? "-" : "~"
                Output.print("\(sign) \(change.action) \(change.server) (\(change.reason))")
            }
            for (name, reason) in skipped { Output.print("  skip \(name) (\(reason))") }
            if changes.isEmpty { Output.print("no changes") }
        }
        return changes.isEmpty ? 0 : 1
    }

    /// The changes, in name order. `running`: each running server's newest instance from /status.
    static func plan(desired: DesiredState, running: [String: JSONValue], salt: HashSalt?) -> [Change] {
        var changes: [Change] = []
        for name in Set(desired.servers.keys).union(running.keys).sorted() {
            let instance = running[name]
            guard let spec = desired.servers[name] else {
                let why = desired.skipped[name].map { "\($0)" } ?? "removed"
                changes.append(Change(action: "stop", server: name, reason: why))
                continue
            }
            guard let instance else {
                changes.append(Change(action: "spawn", server: name, reason: "not running"))
                continue
            }
            if let salt, let hash = instance["process_hash"]?.stringValue, hash != salt.apply(spec.processHash) {
                changes.append(Change(action: "replace", server: name, reason: "command, env, cwd, transport or url changed"))
                continue
            }
            let differences = PolicySummary.differences(from: instance["policies"] ?? .object([]), to: PolicySummary.json(spec))
            if !differences.isEmpty { changes.append(Change(action: "update", server: name, reason: differences.joined(separator: ", "))) }
        }
        return changes
    }
}
