import Actual
import Desired
import Foundation
import JSON
import Testing

/// Servers nobody here wrote, from PyPI (installed into `.venv` by `scripts/setup.sh`): the
/// supervisor must reach `ready`, call a tool and stop them cleanly. They run on the `mcp` 2.3.0
/// SDK, which is dual-era, so they answer `server/discover` and are driven as modern servers;
/// the legacy path is covered by `mcp-demo --era legacy`.
@Suite(.timeLimit(.minutes(2))) struct InteropTests {
    private static let slowStart = "{ interval: 10s, timeout: 5s, failure_threshold: 3, startup_timeout: 60s }"

    private func run(
        _ fleet: Fleet, _ spec: ServerSpec, tool: String, arguments: JSONValue
    ) async throws -> (ServerIdentity, JSONValue, ExitRecord) {
        let (id, event) = await fleet.startReady(spec)
        guard case .ready(_, let identity, let tools, _) = event else {
            throw Fleet.SpecError(description: "expected ready, got \(String(describing: event))")
        }
        #expect((tools ?? 0) > 0)
        let client = try #require(await fleet.supervisor.client(for: id))
        let result = try await client.callTool(tool, arguments: arguments, timeout: .seconds(20))
        let record = try #require(await fleet.supervisor.stop(id, reason: "test"))
        return (identity, result, record)
    }

    @Test func mcpServerTime() async throws {
        let fleet = try Fleet(stop: StopPolicy())
        let spec = try fleet.spec("time", command: [Built.venvBin + "/mcp-server-time", "--local-timezone", "UTC"], health: Self.slowStart)
        let (identity, result, record) = try await run(fleet, spec, tool: "get_current_time", arguments: .object([("timezone", "UTC")]))
        #expect(identity.name == "mcp-time")
        #expect(identity.era == .modern, "era \(identity.era) \(identity.protocolVersion)")
        #expect(result["isError"] != true)
        #expect(result["content"]?.arrayValue?.first?["text"]?.stringValue?.contains("UTC") == true)
        #expect(record.status == ExitStatus(code: 0))
    }

    @Test func mcpServerGit() async throws {
        let fleet = try Fleet(stop: StopPolicy())
        let repository = fleet.root + "/repo"
        try FileManager.default.createDirectory(atPath: repository, withIntermediateDirectories: true)
        let git = Process()
        git.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        git.arguments = ["init", "-q", repository]
        try git.run()
        git.waitUntilExit()
        let spec = try fleet.spec(
            "git", command: [Built.venvBin + "/mcp-server-git", "--repository", repository], health: Self.slowStart)
        let (identity, result, record) = try await run(
            fleet, spec, tool: "git_status", arguments: .object([("repo_path", .string(repository))]))
        #expect(identity.name == "mcp-git")
        #expect(identity.era == .modern, "era \(identity.era) \(identity.protocolVersion)")
        #expect(result["content"]?.arrayValue?.first?["text"]?.stringValue?.contains("branch") == true)
        #expect(record.status == ExitStatus(code: 0))
    }

    /// `transport: http` with a local command: the supervisor starts the process and speaks
    /// Streamable HTTP to it (the SDK answers with event streams).
    @Test func aStreamableHTTPServerFromTheSDK() async throws {
        let fleet = try Fleet(stop: StopPolicy())
        let port = freePort()
        let spec = try fleet.spec(
            "web", command: [Built.venvBin + "/python", Built.root + "/Tests/interop/http_server.py", String(port)],
            transport: "http", url: "http://127.0.0.1:\(port)/mcp", health: Self.slowStart)
        let (identity, result, record) = try await run(fleet, spec, tool: "echo", arguments: .object([("text", "over http")]))
        #expect(identity.name == "sdk-http-peer")
        #expect(identity.era == .modern, "era \(identity.era) \(identity.protocolVersion)")
        #expect(result["content"]?.arrayValue?.first?["text"] == "over http")
        #expect(record.requested)
    }
}
