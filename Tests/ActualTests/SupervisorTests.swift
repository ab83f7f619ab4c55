import Actual
import Desired
import Foundation
import Glibc
import JSON
import Metering
import Testing

/// Real `mcp-demo` processes under the supervisor: every phase, every fault, every way to end.
@Suite(.timeLimit(.minutes(2))) struct SupervisorTests {
    @Test(arguments: [("dual", MCPEra.modern), ("modern", .modern), ("legacy", .legacy)])
    func eachEraReachesReadyPassesHealthChecksAndStopsCleanly(flag: String, era: MCPEra) async throws {
        // A stdin grace that a loaded CI machine (the whole suite in parallel, coverage on) cannot
        // outlast: the assertion is that closing stdin ends the server, not how fast. The stop
        // returns as soon as the exit is seen, so this costs nothing when the machine is idle.
        let fleet = try Fleet(stop: StopPolicy(stdinGrace: .seconds(5), killAfter: .seconds(10)))
        // A health timeout (it bounds the readiness `tools/list` too) that a loaded machine
        // cannot outlast either: under the whole suite a 500 ms one left the tool count unknown.
        let health = "{ interval: 2s, timeout: 1500ms, failure_threshold: 2, startup_timeout: 20s }"
        let (id, ready) = await fleet.startReady(try fleet.spec("demo", flags: "--era \(flag)", health: health))
        guard case .ready(_, let identity, let tools, _) = ready else {
            Issue.record("expected ready, got \(String(describing: ready))")
            return
        }
        #expect(identity.era == era)
        #expect(identity.name == "mcp-demo")
        #expect(tools == 5)  // echo, add, sleep, clock, fetch
        // Two distinct successful health checks, in the server's own era.
        let passed = await eventually { fleet.supervisor.probeTally.snapshot()["demo"].map { $0.latency.count >= 2 } ?? false }
        #expect(passed)
        #expect(fleet.supervisor.probeTally.snapshot()["demo"]?.failures == 0)
        let snapshot = await fleet.supervisor.snapshot(withStats: true)
        let instance = try #require(snapshot.servers["demo"]?.instances.first)
        #expect(instance.phase == .ready)
        #expect(instance.identity?.era == era)
        #expect((instance.stats?.rssBytes ?? 0) > 0)
        let pid = try #require(instance.pid)

        let record = try #require(await fleet.supervisor.stop(id, reason: "test"))
        #expect(record.status == ExitStatus(code: 0))
        #expect(record.requested)
        #expect(record.readyFor > .zero)
        #expect(!isAlive(pid))
        let stopped = await fleet.log.first { if case .stopped(let r, _) = $0 { return r.instance == id } else { return false } }
        #expect(stopped == .stopped(record, step: .stdinClosed))
        #expect(await fleet.supervisor.snapshot().servers["demo"]?.instances.isEmpty == true)
    }

    @Test func aToolCallWorksThroughTheSupervisorsClient() async throws {
        let fleet = try Fleet()
        let (id, _) = await fleet.startReady(try fleet.spec("demo"))
        let client = try #require(await fleet.supervisor.client(for: id))
        let result = try await client.callTool("add", arguments: .object([("a", 2), ("b", 40)]), timeout: .seconds(5))
        #expect(result["content"]?.arrayValue?.first?["text"] == "42")
        #expect(result["resultType"] == "complete")
        await fleet.supervisor.stopAll(reason: "test")
    }

    @Test func exitAfterRequestsIsRecordedWithItsCode() async throws {
        let fleet = try Fleet()
        let id = await fleet.supervisor.start(try fleet.spec("demo", flags: "--exit-after-requests 4 --exit-code 3"))
        let event = await fleet.log.first { if case .exited(let r) = $0 { return r.instance == id } else { return false } }
        guard case .exited(let record) = event else {
            Issue.record("no exit")
            return
        }
        #expect(record.status == ExitStatus(code: 3))
        #expect(!record.requested)
        #expect(record.reason == "exit 3")
        let server = await fleet.supervisor.snapshot().servers["demo"]
        #expect(server?.instances.isEmpty == true)
        #expect(server?.lastExit == record)
        #expect(server?.exits == 1)
    }

    @Test func anExternalKillIsRecordedAsASignal() async throws {
        let fleet = try Fleet()
        let (id, _) = await fleet.startReady(try fleet.spec("demo"))
        let pid = try #require(await fleet.supervisor.snapshot().servers["demo"]?.instances.first?.pid)
        kill(pid, SIGKILL)
        let event = await fleet.log.first { if case .exited(let r) = $0 { return r.instance == id } else { return false } }
        guard case .exited(let record) = event else {
            Issue.record("no exit")
            return
        }
        #expect(record.reason == "killed by SIGKILL")
    }

    @Test func aSlowStartStillBecomesReady() async throws {
        let fleet = try Fleet()
        let (_, event) = await fleet.startReady(try fleet.spec("demo", flags: "--slow-start-ms 600"))
        guard case .ready = event else {
            Issue.record("expected ready, got \(String(describing: event))")
            return
        }
        await fleet.supervisor.stopAll(reason: "test")
    }

    @Test func noHandshakeWithinTheStartupTimeoutIsUnhealthy() async throws {
        let fleet = try Fleet()
        let spec = try fleet.spec(
            "demo", flags: "--no-handshake", health: "{ interval: 1s, timeout: 200ms, failure_threshold: 2, startup_timeout: 1s }")
        let (id, event) = await fleet.startReady(spec)
        guard case .startFailed(_, let reason) = event else {
            Issue.record("expected startFailed, got \(String(describing: event))")
            return
        }
        #expect(reason.hasPrefix("no MCP handshake within 1.0s"))
        let instance = await fleet.supervisor.snapshot().servers["demo"]?.instances.first
        #expect(instance?.phase == .unhealthy)
        await fleet.supervisor.stop(id, reason: "test")
    }

    /// Each way a ready server can stop answering properly must end in `unhealthy`.
    @Test(arguments: [
        "--era legacy --fault-after 3 --hang ping",
        "--era legacy --fault-after 3 --garbage text",
        "--era legacy --fault-after 3 --garbage json",
        "--fault-after 2 --huge-line 3000000",
        "--fault-after 2 --hang server/discover",
    ])
    func aServerThatStopsAnsweringBecomesUnhealthy(flags: String) async throws {
        let fleet = try Fleet()
        let (id, ready) = await fleet.startReady(try fleet.spec("demo", flags: flags))
        guard case .ready = ready else {
            Issue.record("expected ready, got \(String(describing: ready))")
            return
        }
        let unhealthy = await fleet.log.first { if case .unhealthy(id, _) = $0 { return true } else { return false } }
        #expect(unhealthy != nil)
        let instance = await fleet.supervisor.snapshot().servers["demo"]?.instances.first
        #expect(instance?.phase == .unhealthy)
        #expect((instance?.consecutiveFailures ?? 0) >= 2)
        if flags.contains("garbage") || flags.contains("huge") {
            #expect((instance?.protocolErrors ?? 0) > 0)
            let reported = await fleet.log.first { event in
                switch event {
                case .session(id, .invalidMessage), .session(id, .oversizedMessage): true
                default: false
                }
            }
            #expect(reported != nil)
        }
        await fleet.supervisor.stop(id, reason: "test")
    }

    /// A stderr flood is rate-limited into counted drops; the server itself stays ready.
    @Test func aStderrFloodIsRateLimitedAndCounted() async throws {
        let fleet = try Fleet()
        let (id, ready) = await fleet.startReady(try fleet.spec("demo", flags: "--flood-stderr 5000 --stderr-every-request"))
        guard case .ready = ready else {
            Issue.record("expected ready, got \(String(describing: ready))")
            return
        }
        let suppressed = await fleet.log.first {
            if case .stderrSuppressed(id, let lines) = $0 { return lines > 1000 } else { return false }
        }
        #expect(suppressed != nil)
        let lines = await fleet.log.events.filter { if case .stderr(id, _) = $0 { return true } else { return false } }
        #expect(lines.count < 200)
        await fleet.supervisor.stop(id, reason: "test")
    }

    @Test func aServerIgnoringSIGTERMIsKilled() async throws {
        let fleet = try Fleet(stop: StopPolicy(stdinGrace: .milliseconds(100), killAfter: .milliseconds(600)))
        // An ignored signal stays ignored across exec: `sleep` ignores SIGTERM and never reads its
        // stdin, so neither closing stdin nor SIGTERM ends it; only SIGKILL does.
        let spec = try fleet.spec("stubborn", command: ["/bin/sh", "-c", "trap '' TERM; exec sleep 1000"])
        let id = await fleet.supervisor.start(spec)
        _ = await fleet.log.first { if case .spawned(id, _) = $0 { return true } else { return false } }
        let record = try #require(await fleet.supervisor.stop(id, reason: "test"))
        #expect(record.status == ExitStatus(signal: SIGKILL))
        let stopped = await fleet.log.first { if case .stopped(let r, _) = $0 { return r.instance == id } else { return false } }
        #expect(stopped == .stopped(record, step: .sigkill))
    }

    /// The leader exits on stdin EOF, but its grandchild ignores SIGTERM and stays in the group:
    /// the stop must not end until the grandchild is gone too.
    @Test func aGrandchildIgnoringSIGTERMIsGoneAfterStop() async throws {
        let fleet = try Fleet(stop: StopPolicy(stdinGrace: .milliseconds(300), killAfter: .seconds(1)))
        let (id, _) = await fleet.startReady(try fleet.spec("demo", flags: "--fork-grandchild"))
        let line = await fleet.log.first {
            if case .stderr(id, let line) = $0 { return line.contains("grandchild pid") } else { return false }
        }
        guard case .stderr(_, let text) = line, let pid = text.split(separator: " ").last.flatMap({ Int32($0) }) else {
            Issue.record("no grandchild pid in \(String(describing: line))")
            return
        }
        #expect(isAlive(pid))
        // The grandchild announces itself before it has set SIGTERM to ignored; wait for that.
        #expect(await ignoresSIGTERM(pid))
        let record = try #require(await fleet.supervisor.stop(id, reason: "test"))
        #expect(record.status == ExitStatus(code: 0))
        #expect(!isAlive(pid))
        let stopped = await fleet.log.first { if case .stopped(let r, _) = $0 { return r.instance == id } else { return false } }
        #expect(stopped == .stopped(record, step: .sigkill))
    }

    @Test func aMissingExecutableIsAPerServerError() async throws {
        let fleet = try Fleet()
        let (id, event) = await fleet.startReady(try fleet.spec("ghost", command: ["no-such-mcp-server"]))
        guard case .spawnFailed(id, let error) = event else {
            Issue.record("expected spawnFailed, got \(String(describing: event))")
            return
        }
        #expect(error.step == .resolve)
        #expect(error.message.hasPrefix("executable \"no-such-mcp-server\" not found in "))
        let server = await fleet.supervisor.snapshot().servers["ghost"]
        #expect(server?.lastExit?.reason.hasPrefix("spawn failed: executable") == true)
        #expect(server?.instances.isEmpty == true)
    }

    @Test func aBadWorkingDirectoryIsAPerServerError() async throws {
        let fleet = try Fleet()
        let (id, event) = await fleet.startReady(try fleet.spec("lost", cwd: "no/such/dir"))
        guard case .spawnFailed(id, let error) = event else {
            Issue.record("expected spawnFailed, got \(String(describing: event))")
            return
        }
        #expect(error.step == .cwd)
        #expect(error.message == "cwd \(fleet.root)/no/such/dir: No such file or directory")
    }

    /// The child sees the baseline and its own manifest's variables: nothing else.
    @Test func theChildEnvironmentIsExactlyBaselinePlusManifest() async throws {
        let fleet = try Fleet()
        // The absolute path: the child's PATH is only the baseline's, without the build directory.
        let spec = try fleet.spec(
            "env", command: ["/bin/sh", "-c", "env | sort >&2; exec \(Built.debug)/mcp-demo"], env: ["ONLY_MINE": "yes"])
        let (id, _) = await fleet.startReady(spec)
        // Events reach the log through a stream: wait for the last variable `env | sort` prints.
        _ = await fleet.log.first { if case .stderr(id, let line) = $0 { line.hasPrefix("PWD=") } else { false } }
        await fleet.supervisor.stop(id, reason: "test")
        let names = await fleet.log.events.compactMap { event -> String? in
            guard case .stderr(id, let line) = event, let equals = line.firstIndex(of: "=") else { return nil }
            return String(line[..<equals])
        }
        #expect(Set(names).subtracting(["PWD", "SHLVL", "_"]) == ["HOME", "LANG", "ONLY_MINE", "PATH"])
    }

    @Test func stopDuringLaunchStillStopsTheProcess() async throws {
        let fleet = try Fleet()
        let id = await fleet.supervisor.start(try fleet.spec("demo"))
        let record = await fleet.supervisor.stop(id, reason: "changed my mind")
        #expect(record?.requested == true)
        let pid = try #require(record?.pid)
        #expect(!isAlive(pid))
        #expect(!childPids().contains(pid))
        #expect(await fleet.supervisor.snapshot().servers["demo"]?.instances.isEmpty == true)
    }

    /// A stop whose caller is cancelled still runs the whole escalation: no process escapes,
    /// and nothing spins.
    @Test func aCancelledStopStillStopsEverything() async throws {
        let fleet = try Fleet(stop: StopPolicy(stdinGrace: .milliseconds(200), killAfter: .milliseconds(600)))
        let spec = try fleet.spec("stubborn", command: ["/bin/sh", "-c", "trap '' TERM; exec sleep 1000"])
        let id = await fleet.supervisor.start(spec)
        let stopper = Task { await fleet.supervisor.stop(id, reason: "test") }
        stopper.cancel()
        let record = await stopper.value
        #expect(record?.status == ExitStatus(signal: SIGKILL))
        if let pid = record?.pid { #expect(!isAlive(pid)) }
    }

    /// A policy update keeps the health verdict: an unhealthy process still recovers.
    @Test func anUpdateKeepsTheHealthStateAndRecoveryStillWorks() async throws {
        let fleet = try Fleet()
        let spec = try fleet.spec("demo", flags: "--era legacy --fault-after 3 --hang ping")
        let (id, _) = await fleet.startReady(spec)
        _ = await fleet.log.first { if case .unhealthy(id, _) = $0 { true } else { false } }
        await fleet.supervisor.update(
            id,
            to: try fleet.spec(
                "demo", flags: "--era legacy --fault-after 3 --hang ping", health: "{ interval: 1s, timeout: 500ms, failure_threshold: 3 }")
        )
        let instance = await fleet.supervisor.snapshot().servers["demo"]?.instances.first
        #expect(instance?.phase == .unhealthy)
        #expect((instance?.consecutiveFailures ?? 0) >= 2)
        await fleet.supervisor.stop(id, reason: "test")
    }

    /// A consumer that does not keep up loses the oldest events, counted, never the newest.
    @Test func aBoundedEventStreamDropsTheOldestAndCountsThem() async throws {
        let fleet = try Fleet()
        let spec = try fleet.spec("demo", flags: "--flood-stderr 100")
        let environment = Environment(["PATH": "/usr/bin:/bin", "HOME": fleet.root, "LANG": "C.UTF-8"])
        // Nobody reads this supervisor's events until the end.
        let supervisor = Supervisor(
            options: SupervisorOptions(
                root: fleet.root, helperDirectory: Built.debug, environment: environment, stderrBurst: 200, eventBuffer: 4))
        let id = await supervisor.start(spec)
        #expect(await eventually { supervisor.droppedEvents > 0 })
        let record = try #require(await supervisor.stop(id, reason: "test"))
        var buffered: [ActualEvent] = []
        for await event in supervisor.events {
            buffered.append(event)
            if buffered.count == 4 { break }
        }
        // The newest are kept (other tests' orphans may follow the stop: not necessarily last).
        #expect(buffered.contains { if case .stopped(record, _) = $0 { true } else { false } }, "\(buffered)")
        // At least the flood, the spawn, the drain and the stop went in; 4 stayed.
        #expect(supervisor.droppedEvents >= 100 + 3 - 4)
    }

    /// A descendant that leaves the process group (setsid) is reaped when it exits, instead of
    /// staying a zombie of the controller.
    @Test func aDescendantThatLeftTheGroupIsReaped() async throws {
        let fleet = try Fleet()
        // `$$$$`: the manifest's own escape for `$$`, the shell's pid.
        let script = "(setsid sh -c 'echo escapee $$$$ >&2; exec sleep 0.3' &) ; exec \(Built.debug)/mcp-demo"
        let (id, _) = await fleet.startReady(try fleet.spec("demo", command: ["/bin/sh", "-c", script]))
        let line = await fleet.log.first { if case .stderr(id, let l) = $0 { l.hasPrefix("escapee") } else { false } }
        guard case .stderr(_, let text) = line, let pid = text.split(separator: " ").last.flatMap({ Int32($0) }) else {
            Issue.record("no escapee pid")
            return
        }
        let reaped = await fleet.log.first { if case .orphanReaped(pid, _) = $0 { true } else { false } }
        #expect(reaped != nil)
        #expect(ProcessStats.read(pid: pid) == nil)
        await fleet.supervisor.stop(id, reason: "test")
    }
}
