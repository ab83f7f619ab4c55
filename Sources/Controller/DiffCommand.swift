import Actual
import Desired
import Foundation
import JSON
import Reconciler

/// `controller diff [--against URL] [--all] [--format text|json]`: what the files under the root
/// would change. Like `kubectl diff`: exit 0 no changes, 1 changes, 2 error.
///
/// With `--against`, a server-side dry run: the root's config layers and manifests go to the
/// running controller (`POST /plan`), which loads them as a reload would (its environment, its
/// layer, its built-in defaults) and plans them against the processes it runs, applying
/// nothing. Without it, the same planner plans them locally against an empty world.
enum DiffCommand {
    static let help = """
        usage: controller diff [--root DIR] [--env NAME] [--against URL] [--all] [--format text|json]

        What the files under the root would change: + start, ~ replace, ~ update, - stop, each
        with its reason, then a summary. With --against (e.g. http://127.0.0.1:8765) the running
        controller plans them against its processes, with its own environment and config layer
        (--env is not used then); without it, they are planned against an empty world with this
        shell's environment. --all also lists unchanged and skipped servers.
        Exit 0: no changes; 1: changes; 2: error.
        """

    static func run(_ arguments: [String]) async -> Int32 {
        var arguments = Arguments(arguments)
        if arguments.wantsHelp() {
            Output.print(help)
            return 0
        }
        let workspace: Workspace
        let against: String?
        let format: String
        let all: Bool
        do {
            workspace = try CommandRouter.workspace(&arguments)
            against = try arguments.option("--against")
            all = arguments.flag("--all")
            format = try arguments.choice("--format", ["text", "json"], default: "text")
            try arguments.finish()
        } catch {
            Output.error("controller diff: \(error)\n\n\(help)")
            return 2
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: workspace.root, isDirectory: &isDirectory), isDirectory.boolValue else {
            Output.error("controller diff: no directory \(workspace.root)")
            return 2
        }
        let planned = if let against { await remote(workspace, url: against) } else { local(workspace) }
        guard let result = planned else { return 2 }
        let compared = against.map { "the controller at \($0)" } ?? "an empty world (no --against)"
        if format == "json" {
            var pairs: [(String, JSONValue)] = [
                ("root", .string(workspace.root)), ("env", result.env.map { .string($0) } ?? .null),
                ("against", against.map { .string($0) } ?? .null),
            ]
            pairs += result.report.json.objectValue ?? []
            pairs.append(("warnings", .array(result.warnings.map { .string($0) })))
            Output.print(JSONValue.object(pairs).rendered(pretty: true))
        } else {
            for warning in result.warnings { Output.error(warning) }
            Output.print("diff \(workspace.root) (env: \(result.env ?? "none")) against \(compared)")
            for line in result.report.lines(all: all) { Output.print(line) }
        }
        return result.report.changes.isEmpty ? 0 : 1
    }

    /// A report, the config layer it was planned with, and the load's warnings.
    struct Result {
        var report: PlanReport
        var env: String?
        var warnings: [String]
    }

    /// Plans locally, against no processes, with this shell's environment; nil after printing
    /// why when the files are invalid.
    static func local(_ workspace: Workspace) -> Result? {
        let process = Environment.process()
        let load = workspace.load(process)
        let (environment, _) = workspace.environment(process)
        // Every manifest's secrets, skipped ones included: they are what a reason can quote.
        let redactor = Redactor(secrets: Daemon.secrets(load.manifests, environment: environment))
        let errors = load.diagnostics.filter { $0.severity == .error }
        guard let state = load.state, errors.isEmpty else {
            for diagnostic in errors { Output.error(redactor.redact(diagnostic.description)) }
            Output.error("controller diff: the files are invalid (controller validate says more)")
            return nil
        }
        let rollout = RolloutPolicy(maxUnavailablePercent: state.config.maxUnavailablePercent)
        let plan = Planner.plan(desired: state, actual: ActualState(), now: .zero, rollout: rollout)
        let report = PlanReport(desired: state, actual: ActualState(), plan: plan)
        // An `invalid` reason may quote a resolved secret: the terminal gets what a response would.
        guard let redacted = PlanReport(json: Logger.redacted(report.json, redactor)) else { return nil }
        let warnings = load.diagnostics.filter { $0.severity != .error }.map { redactor.redact($0.description) }
        return Result(report: redacted, env: workspace.layerName(environment), warnings: warnings)
    }

    /// Asks the controller at `url` to plan the root's files (`POST /plan`); nil after printing
    /// why when it cannot or the files are invalid.
    static func remote(_ workspace: Workspace, url: String) async -> Result? {
        let process = Environment.process()
        if workspace.envName != nil {
            Output.error("controller diff: note: --env is not used with --against; the controller plans with its own config layer")
        }
        let files: [String: [UInt8]]
        do {
            files = try workspace.filesToSend()
        } catch {
            Output.error("controller diff: cannot read \(workspace.root): \(error.localizedDescription)")
            return nil
        }
        for (path, bytes) in files.sorted(by: { $0.key < $1.key }) where String(validating: bytes, as: UTF8.self) == nil {
            Output.error("controller diff: \(workspace.display(path)) is not UTF-8 text")
            return nil
        }
        let body = DryRunRequest(root: workspace.root, files: files).json.renderedBytes()
        guard body.count <= DryRunRequest.maxBody else {
            Output.error("controller diff: the files add up to \(body.count) bytes; a controller takes at most \(DryRunRequest.maxBody)")
            return nil
        }
        let client = AdminClient.resolve(url: url, workspace: workspace, process: process)
        let status: Int
        let text: String
        do {
            (status, text) = try await client.post("/plan", json: body)
        } catch {
            Output.error("controller diff: \(error)")
            return nil
        }
        let json = try? JSONParser.parse(text)
        switch status {
        case 200:
            guard let json, let report = PlanReport(json: json) else {
                Output.error("controller diff: \(url)/plan answered 200 without a plan")
                return nil
            }
            let warnings = json["warnings"]?.arrayValue?.compactMap(\.stringValue) ?? []
            return Result(report: report, env: json["env"]?.stringValue, warnings: warnings)
        case 422:
            for line in json?["diagnostics"]?.arrayValue?.compactMap(\.stringValue) ?? [] { Output.error(line) }
            Output.error("controller diff: the files are invalid as the controller at \(url) loads them")
        case 401:
            Output.error("controller diff: \(url) asks for a token: set one of its tokens in this shell")
        case 404, 405:
            Output.error("controller diff: \(url) has no POST /plan (a controller older than this command?)")
        default:
            let why = json?["error"]?.stringValue ?? text.trimmingCharacters(in: .whitespacesAndNewlines)
            Output.error("controller diff: \(url)/plan answered \(status): \(why)")
        }
        return nil
    }
}
