import Actual
import Desired
import Foundation
import Reconciler
import Testing

/// The executor's start window with real `mcp-demo` children: at most `window` processes are
/// starting at once, cheap servers stream through it, and a server that never gets ready holds
/// only its own slot. The executor's clock is a `FakeClock` that never moves: no start waits
/// for time, only for readiness.
@Suite(.timeLimit(.minutes(1))) struct ExecutorStartWindowTests {
    static let debug =
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path + "/.build/debug"

    /// Spawned and ready events in order, and the most processes seen starting at once.
    actor Starts {
        private(set) var spawned: [String] = []
        private(set) var ready: Set<String> = []
        private(set) var mostStarting = 0
        private var starting: Set<InstanceID> = []

        init(_ events: AsyncStream<ReconcileEvent>) {
            Task { [weak self] in
                for await case .actual(let event) in events { await self?.record(event) }
            }
        }

        private func record(_ event: ActualEvent) {
            switch event {
            case .spawned(let id, _):
                spawned.append(id.name)
                starting.insert(id)
                mostStarting = max(mostStarting, starting.count)
            case .ready(let id, _, _, _):
                ready.insert(id.name)
                starting.remove(id)
            case .startFailed(let id, _), .spawnFailed(let id, _), .unhealthy(let id, _): starting.remove(id)
            case .exited(let record), .stopped(let record, _): starting.remove(record.instance)
            default: break
            }
        }
    }

    private func desired(root: String, servers: [String: String]) throws -> DesiredState {
        for directory in ["servers", "config"] {
            try FileManager.default.createDirectory(atPath: root + "/" + directory, withIntermediateDirectories: true)
        }
        for (name, command) in servers {
            let yaml = "name: \(name)\ndescription: windowed\ntransport: stdio\ncommand: \(command)\n"
            try Data(yaml.utf8).write(to: URL(fileURLWithPath: root + "/servers/\(name).yaml"))
        }
        let features = "features:\n" + servers.keys.map { "  \($0): { enabled: true }\n" }.joined()
        try Data(features.utf8).write(to: URL(fileURLWithPath: root + "/config/default.yaml"))
        let load = Workspace(root: root, envName: "").load(Environment([:]))
        let state = try #require(load.state, "\(load.diagnostics)")
        try #require(state.servers.count == servers.count, "\(load.diagnostics)")
        return state
    }

    @Test func cheapServersStreamThroughWhileASlowStarterHoldsOneSlot() async throws {
        let root = NSTemporaryDirectory() + "omni-window-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        var servers = ["a-slow": "[mcp-demo, --slow-start-ms, \"60000\"]"]
        for index in 1...6 { servers["cheap\(index)"] = "[mcp-demo]" }
        let state = try desired(root: root, servers: servers)
        let supervisor = Supervisor(
            options: SupervisorOptions(
                root: root, helperDirectory: Self.debug, environment: Environment(["PATH": "/usr/bin:/bin"]),
                stop: StopPolicy(stdinGrace: .milliseconds(300), killAfter: .seconds(2))))
        let executor = Executor(supervisor: supervisor, clock: FakeClock(), startWindow: 2, resync: .seconds(3600))
        let starts = Starts(executor.events)
        let loop = Task { await executor.run() }
        await executor.apply(state)

        let deadline = ContinuousClock.now + .seconds(30)
        while await starts.ready.count < 6, ContinuousClock.now < deadline {
            // Polling real children's progress; the assertions below do not depend on timing.
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(await starts.ready == Set((1...6).map { "cheap\($0)" }))
        // The slow one started first (plan order) and is still starting: it held one slot
        // throughout, and the six cheap ones went through the other.
        #expect(await starts.spawned.first == "a-slow")
        #expect(await starts.spawned.count == 7)
        #expect(await !starts.ready.contains("a-slow"))
        #expect(await starts.mostStarting == 2)
        #expect(await executor.startsWaiting == 0)
        await executor.shutdown(reason: "test")
        loop.cancel()
    }
}
