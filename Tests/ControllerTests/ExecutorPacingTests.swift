import Actual
import Desired
import Foundation
import Reconciler
import Testing

/// The executor's spawn pacing (`reconcile.spawn_rate`, a token bucket whose burst is the rate):
/// five new servers at a rate of 2/s start two at once, then one every 500 ms of the executor's
/// clock. The clock is a `FakeClock` (the executor's only source of time), so the spacing is
/// asserted in exact fake time; the processes are real `mcp-demo` children.
@Suite(.timeLimit(.minutes(1))) struct ExecutorPacingTests {
    static let debug =
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path + "/.build/debug"

    /// The executor's `spawned` events with the fake time each was seen at.
    actor Starts {
        private(set) var starts: [(server: String, at: Duration)] = []
        private(set) var planned = 0
        private var waiters: [(count: Int, continuation: CheckedContinuation<Bool, Never>)] = []

        init(_ events: AsyncStream<ReconcileEvent>, clock: FakeClock) {
            Task { [weak self] in
                for await event in events {
                    switch event {
                    case .actual(.spawned(let id, _)): await self?.started(id.name, at: clock.now)
                    case .applying(let action):
                        if case .spawn = action.kind { await self?.plannedOne() }
                    default: break
                    }
                }
            }
        }

        private func plannedOne() { planned += 1 }

        private func started(_ server: String, at time: Duration) {
            starts.append((server, time))
            let ready = waiters.filter { $0.count <= starts.count }
            waiters.removeAll { $0.count <= starts.count }
            for waiter in ready { waiter.continuation.resume(returning: true) }
        }

        /// Whether `count` starts were seen, or are within 20 s of real time.
        func wait(for count: Int) async -> Bool {
            if starts.count >= count { return true }
            let timer = Task {
                try? await Task.sleep(for: .seconds(20))
                self.expire(count)
            }
            defer { timer.cancel() }
            return await withCheckedContinuation { waiters.append((count, $0)) }
        }

        private func expire(_ count: Int) {
            for waiter in waiters where waiter.count == count { waiter.continuation.resume(returning: false) }
            waiters.removeAll { $0.count == count }
        }
    }

    /// Five enabled `mcp-demo` servers, read from a root as the controller reads one.
    private func desired(root: String) throws -> DesiredState {
        for directory in ["servers", "config"] {
            try FileManager.default.createDirectory(atPath: root + "/" + directory, withIntermediateDirectories: true)
        }
        let names = (1...5).map { "s\($0)" }
        for name in names {
            let yaml = "name: \(name)\ndescription: paced\ntransport: stdio\ncommand: [mcp-demo]\n"
            try Data(yaml.utf8).write(to: URL(fileURLWithPath: root + "/servers/\(name).yaml"))
        }
        let features = "features:\n" + names.map { "  \($0): { enabled: true }\n" }.joined()
        try Data(features.utf8).write(to: URL(fileURLWithPath: root + "/config/default.yaml"))
        let load = Workspace(root: root, envName: "").load(Environment([:]))
        let state = try #require(load.state, "\(load.diagnostics)")
        try #require(state.servers.count == 5, "\(load.diagnostics)")
        return state
    }

    @Test func startsBeyondTheBurstAreSpacedByTheRate() async throws {
        let root = NSTemporaryDirectory() + "omni-pacing-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let state = try desired(root: root)
        let clock = FakeClock()
        let supervisor = Supervisor(
            options: SupervisorOptions(
                root: root, helperDirectory: Self.debug, environment: Environment(["PATH": "/usr/bin:/bin"]),
                stop: StopPolicy(stdinGrace: .milliseconds(300), killAfter: .seconds(2))))
        // A resync far beyond the test: its ticker is the one sleeper besides the paced starts.
        let executor = Executor(supervisor: supervisor, clock: clock, spawnRate: 2, resync: .seconds(3600))
        let starts = Starts(executor.events, clock: clock)
        let loop = Task { await executor.run() }
        await executor.apply(state)

        // The burst: two start at once; the other three wait for a token on the executor's
        // clock. All five were planned together: the pacing holds them back, not the planner.
        #expect(await starts.wait(for: 2))
        #expect(await clock.waitForSleepers(1 + 3))
        #expect(await starts.starts.count == 2)
        #expect(await starts.planned == 5)

        // Then one start per 1/rate = 500 ms: none a millisecond early, exactly one on time.
        for (waiting, started) in [(3, 3), (2, 4), (1, 5)] {
            clock.advance(by: .milliseconds(499))
            #expect(clock.sleeping == 1 + waiting, "a paced start woke before 500 ms")
            clock.advance(by: .milliseconds(1))
            #expect(await starts.wait(for: started))
            // The ones still waiting are back asleep, and no other start slipped through.
            #expect(await clock.waitForSleepers(1 + waiting - 1))
            #expect(clock.sleeping == 1 + waiting - 1)
            #expect(await starts.starts.count == started)
        }
        let seen = await starts.starts
        #expect(seen.map(\.at) == [.zero, .zero, .milliseconds(500), .seconds(1), .milliseconds(1500)])
        #expect(Set(seen.map(\.server)) == Set(state.servers.keys))
        await executor.shutdown(reason: "test")
        loop.cancel()
    }
}
