import Desired
import Foundation
import Synchronization
import Testing

@testable import Actual
@testable import Reconciler

/// The executor driving real `mcp-demo` processes through the supervisor.
@Suite(.timeLimit(.minutes(2))) struct ExecutorTests {
    static let debug =
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path + "/.build/debug"
    static let fast = "health: { interval: 1s, timeout: 500ms, failure_threshold: 2, startup_timeout: 10s }\n"

    /// Collects executor events; waits for one without sleeping.
    actor Log {
        private(set) var events: [ReconcileEvent] = []
        private var waiters: [(id: UUID, match: @Sendable (ReconcileEvent) -> Bool, continuation: CheckedContinuation<Bool, Never>)] = []

        func add(_ event: ReconcileEvent) {
            events.append(event)
            let ready = waiters.filter { $0.match(event) }
            waiters.removeAll { $0.match(event) }
            for waiter in ready { waiter.continuation.resume(returning: true) }
        }

        /// Whether an event matching `match` is seen or arrives within 30 s.
        func wait(for match: @escaping @Sendable (ReconcileEvent) -> Bool) async -> Bool {
            if events.contains(where: match) { return true }
            let id = UUID()
            let timer = Task {
                try? await Task.sleep(for: .seconds(30))
                self.expire(id)
            }
            defer { timer.cancel() }
            return await withCheckedContinuation { continuation in waiters.append((id, match, continuation)) }
        }

        private func expire(_ id: UUID) {
            for waiter in waiters where waiter.id == id { waiter.continuation.resume(returning: false) }
            waiters.removeAll { $0.id == id }
        }
    }

    /// Records the routing calls the executor makes, in order.
    final class RecordingRouter: TrafficRouter {
        let calls = Mutex<[String]>([])
        func route(to id: InstanceID, channel: any ForwardingChannel, identity: ServerIdentity) {
            calls.withLock { $0.append("route \(id)") }
        }
        func drain(_ id: InstanceID, reason: String, wait: Bool) async {
            calls.withLock { $0.append("drain \(id) \(reason)\(wait ? "" : " (no wait)")") }
        }
        func retire(_ id: InstanceID, reason: String) { calls.withLock { $0.append("retire \(id)") } }
    }

    private func start(router: RecordingRouter? = nil) -> (Executor, Log, Task<Void, Never>, Supervisor) {
        let root = NSTemporaryDirectory()
        let supervisor = Supervisor(
            options: SupervisorOptions(
                root: root, helperDirectory: Self.debug, environment: Environment(["PATH": "/usr/bin:/bin"]),
                stop: StopPolicy(stdinGrace: .milliseconds(300), killAfter: .seconds(2))))
        let executor = Executor(supervisor: supervisor, resync: .seconds(5), router: router)
        let log = Log()
        let loop = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await executor.run() }
                group.addTask { for await event in executor.events { await log.add(event) } }
            }
        }
        return (executor, log, loop, supervisor)
    }

    private static func ready(_ name: String) -> @Sendable (ReconcileEvent) -> Bool {
        { if case .actual(.ready(let id, _, _, _)) = $0 { id.name == name } else { false } }
    }

    @Test func enableEditDisable() async throws {
        let router = RecordingRouter()
        let (executor, log, loop, supervisor) = start(router: router)
        await executor.apply(World.desired(["demo": Self.fast], enabled: ["demo"]))
        #expect(await log.wait(for: Self.ready("demo")))

        // A process change: a new instance becomes ready, then the old one is stopped.
        await executor.apply(World.desired(["demo": Self.fast + "command: [mcp-demo, --era, legacy]"], enabled: ["demo"]))
        #expect(
            await log.wait { event in
                if case .applying(let action) = event, case .replace = action.kind { return action.reason == "command changed" }
                return false
            })
        #expect(
            await log.wait { event in
                if case .actual(.stopped(let record, _)) = event { return record.instance.number == 1 }
                return false
            })

        // Disabled: stopped, with the reason.
        await executor.apply(World.desired(["demo": Self.fast], enabled: []))
        #expect(
            await log.wait { event in
                if case .applying(let action) = event, case .stop = action.kind { return action.reason == "disabled" }
                return false
            })
        #expect(await log.wait { if case .actual(.stopped(let record, _)) = $0 { record.instance.number == 2 } else { false } })
        // Traffic followed: the new process was routed before the old one drained, and each
        // process drained before it stopped and was retired once it had ended.
        let calls = router.calls.withLock { $0 }
        #expect(calls.first == "route demo#1")
        let routed2 = try #require(calls.firstIndex(of: "route demo#2"))
        let drained1 = try #require(calls.firstIndex { $0.hasPrefix("drain demo#1") })
        let retired1 = try #require(calls.firstIndex(of: "retire demo#1"))
        #expect(routed2 < drained1 && drained1 < retired1)
        #expect(calls.contains("drain demo#2 disabled"))
        #expect(calls.last == "retire demo#2")
        // Disabled, the server keeps its history; removed, it is forgotten once nothing runs.
        #expect(await supervisor.snapshot().servers["demo"] != nil)
        await executor.apply(World.desired([:], enabled: []))
        let generation = await executor.currentGeneration
        #expect(await log.wait { if case .reconciled(_, _, generation) = $0 { true } else { false } })
        // Forgotten by that pass or the next (the stop's clean-up may still be in flight):
        // polled, because forgetting has no event of its own.
        var forgotten = false
        for _ in 0..<500 where !forgotten {
            forgotten = await supervisor.snapshot().servers["demo"] == nil && supervisor.probeTally.snapshot()["demo"] == nil
            if !forgotten { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(forgotten)
        await executor.shutdown(reason: "test")
        loop.cancel()
    }

    /// A server that keeps exiting is restarted with backoff, then quarantined; after the
    /// cool-down it gets one half-open start.
    @Test func aCrashLoopReachesQuarantineAndRetriesAfterTheCoolDown() async throws {
        let (executor, log, loop, _) = start()
        let crashing =
            Self.fast + "env: { MCP_DEMO_FLAGS: \"--exit-after-ms 100\" }\n"
            + "restart: { backoff: [50ms], budget: 2/30s, quarantine: 1s, reset_after: 5s }\n"
        await executor.apply(World.desired(["crash": crashing], enabled: ["crash"]))
        #expect(
            await log.wait { event in
                if case .hold(server: "crash", .quarantined(_, let reason)?) = event { return reason.hasPrefix("3 exits within 30s") }
                return false
            })
        // After the 1 s cool-down: the half-open start, which fails too, and a longer quarantine.
        #expect(
            await log.wait { event in
                if case .hold(server: "crash", .quarantined(_, let reason)?) = event {
                    return reason.hasPrefix("the half-open start after quarantine failed")
                }
                return false
            })
        let spawns = await log.events.filter { if case .applying(let a) = $0, case .spawn = a.kind { true } else { false } }.count
        #expect(spawns == 4)
        await executor.shutdown(reason: "test")
        loop.cancel()
    }
}
