import CSystem
import Desired
import Dispatch
import Foundation
import Glibc
import Testing

@testable import Actual

/// What this test process is for: nil in a normal run; a role name when a test re-runs this
/// binary to get a process of its own (exact descriptor counts, or a host to SIGKILL).
private let role = ProcessInfo.processInfo.environment["OMNI_TEST_ROLE"]

/// Tests that need a process of their own: they re-run this test binary, filtered to one
/// role test, and check what happened from the outside.
@Suite(.timeLimit(.minutes(3))) struct IsolatedHostTests {
    /// Runs this test binary with `OMNI_TEST_ROLE=role`, filtered to `test`; returns its process
    /// and a handle to its stdout.
    private func launchRole(_ role: String, test: String, extra: [String: String] = [:]) throws -> (Process, FileHandle) {
        let host = Process()
        host.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        host.arguments = ["--testing-library", "swift-testing", "--filter", test]
        host.environment = ProcessInfo.processInfo.environment.merging(extra.merging(["OMNI_TEST_ROLE": role]) { a, _ in a }) { _, b in b }
        let out = Pipe()
        host.standardOutput = out
        host.standardError = FileHandle.nullDevice
        try host.run()
        return (host, out.fileHandleForReading)
    }

    /// Reads `handle` to the end on a thread of its own (never block the cooperative pool).
    private func readAll(_ handle: FileHandle) async -> String {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(returning: String(decoding: handle.readDataToEndOfFile(), as: UTF8.self))
            }
        }
    }

    /// Reads lines from `handle` until one starts with `prefix`.
    private func readLine(_ handle: FileHandle, prefix: String) async -> String? {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                var buffer = ""
                while true {
                    let data = handle.availableData
                    if data.isEmpty { return continuation.resume(returning: nil) }
                    buffer += String(decoding: data, as: UTF8.self)
                    if let line = buffer.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) {
                        return continuation.resume(returning: String(line))
                    }
                }
            }
        }
    }

    @Test(.enabled(if: role == nil)) func aThousandStartStopCyclesLeakNoDescriptorAndNoChild() async throws {
        let (host, out) = try launchRole("leak-check", test: "leakCheckRole")
        let output = await readAll(out)
        host.waitUntilExit()
        #expect(host.terminationStatus == 0, "\(output.suffix(3000))")
        #expect(output.contains("leak-check: 1000 cycles"))
    }

    /// 1,000 start/stop cycles (4 at a time: fewer runnable processes for the rest of the suite to compete with) of a real `mcp-demo` that leaves behind an escapee
    /// in a session of its own, ignoring SIGTERM; then the descriptor count, the child list (no
    /// zombie, no escapee re-parented here) and the reaper's watched groups are what they were
    /// before, every escapee was killed and reported, and none runs.
    @Test(.enabled(if: role == "leak-check")) func leakCheckRole() async throws {
        // The escapees need the SIGKILL: a short escalation keeps 1,000 of them quick.
        let fleet = try Fleet(stop: StopPolicy(stdinGrace: .milliseconds(500), killAfter: .milliseconds(50)))
        let spec = try fleet.spec("cycle", flags: "--escape setsid")
        // Warm-up: the first cycle creates the I/O loop, the spawn thread and the ledger.
        let warmUp = await fleet.supervisor.start(spec)
        _ = await escapeePid(of: warmUp, in: fleet.log)
        await fleet.supervisor.stop(warmUp, reason: "warm-up")
        let descriptors = omni_count_open_fds()
        let children = childPids()
        for _ in 0..<250 {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        // Its escapee exists and its parent lives, so the stop sees whose it is
                        // (a server stopped mid-start may fork one after the stop looked).
                        let id = await fleet.supervisor.start(spec)
                        _ = await escapeePid(of: id, in: fleet.log)
                        let record = await fleet.supervisor.stop(id, reason: "cycle")
                        #expect(record?.requested == true)
                    }
                }
            }
        }
        #expect(omni_count_open_fds() == descriptors)
        #expect(childPids() == children)
        #expect(IOLoop.shared.watchedGroups == 0)
        #expect(await fleet.supervisor.snapshot().servers["cycle"]?.exits == 1001)
        let events = await fleet.log.events
        let escapees = events.compactMap { event -> Int32? in
            guard case .stderr(_, let line) = event, line.contains("escapee pid") else { return nil }
            return line.split(separator: " ").last.flatMap { Int32($0) }
        }
        let killed = events.filter { if case .escapeeKilled = $0 { true } else { false } }
        #expect(escapees.count == 1001)
        #expect(killed.count == 1001)
        // An escapee leads its own session: a pid reused since by a stranger does not.
        #expect(escapees.filter { pid in ProcessStats.read(pid: pid).map { $0.session == pid } ?? false }.isEmpty)
        FileHandle.standardOutput.write(Data("leak-check: 1000 cycles, \(descriptors) descriptors before and after\n".utf8))
    }

    /// SIGKILL of the controller's process must leave no server alive (PDEATHSIG): one of the
    /// servers ignores SIGTERM and never reads its stdin, so only the death signal can end it
    /// (the others would also exit on the EOF of their stdin). A grandchild
    /// does survive (the death signal is not inherited across fork), and so do three escapees
    /// that ignore SIGTERM (a child in a new session, a double-forked grandchild in a new
    /// session, a child in a new group); the next run's `reclaimLeftovers` finds them all
    /// through the ledger (group, session, recorded escapees) and stops them.
    @Test(.enabled(if: role == nil)) func aKilledHostLeavesNoChildAndTheNextRunReclaimsGrandchildren() async throws {
        let root = NSTemporaryDirectory() + "omni-host-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (host, out) = try launchRole("orphan-host", test: "orphanHostRole", extra: ["OMNI_TEST_ROOT": root])
        let line = try #require(await readLine(out, prefix: "pids "))
        let pids = line.dropFirst(5).split(separator: " ").compactMap { Int32($0) }
        try #require(pids.count == 11)
        let (leaders, survivors) = (Array(pids.prefix(7)), Array(pids.suffix(4)))
        kill(host.processIdentifier, SIGKILL)
        host.waitUntilExit()
        for leader in leaders { #expect(waitForExit(leader, timeout: .seconds(10)), "server \(leader) outlived its controller") }
        for pid in survivors { #expect(isRunning(pid), "\(pid) should survive the host") }

        let next = try Fleet(root: root)
        let reclaimed = await next.supervisor.reclaimLeftovers()
        for pid in survivors {
            #expect(reclaimed.flatMap(\.pids).contains(pid), "\(pid) was not reclaimed")
            #expect(waitForExit(pid, timeout: .seconds(10)))
        }
        // Whoever they were re-parented to, collect what is ours to collect.
        for pid in pids { _ = waitpid(pid, nil, WNOHANG) }
        let ledger = try String(contentsOfFile: root + "/var/processes.json", encoding: .utf8)
        #expect(ledger.contains("\"groups\": []"))
    }

    /// The host side: three ready servers (one with a grandchild), their pids on stdout, then
    /// waiting to be killed.
    @Test(.enabled(if: role == "orphan-host")) func orphanHostRole() async throws {
        let root = try #require(ProcessInfo.processInfo.environment["OMNI_TEST_ROOT"])
        for directory in ["servers", "config", "var"] {
            try FileManager.default.createDirectory(atPath: root + "/" + directory, withIntermediateDirectories: true)
        }
        let fleet = try Fleet(root: root, escapeCensusInterval: .milliseconds(200))
        var leaders: [Int32] = []
        var grandchild: Int32?
        for (index, flags) in ["", "--era legacy", "--fork-grandchild"].enumerated() {
            let (id, event) = await fleet.startReady(try fleet.spec("s\(index)", flags: flags))
            guard case .ready = event else { throw Fleet.SpecError(description: "not ready: \(String(describing: event))") }
            leaders.append(try #require(await fleet.supervisor.snapshot().servers[id.name]?.instances.first?.pid))
            if flags == "--fork-grandchild" {
                let line = await fleet.log.first { if case .stderr(id, let l) = $0 { l.contains("grandchild pid") } else { false } }
                if case .stderr(_, let text) = line { grandchild = text.split(separator: " ").last.flatMap { Int32($0) } }
            }
        }
        // A server that neither reads stdin nor obeys SIGTERM: only PDEATHSIG can end it.
        let stubborn = await fleet.supervisor.start(try fleet.spec("s3", command: ["/bin/sh", "-c", "trap '' TERM; exec sleep 1000"]))
        _ = await fleet.log.first { if case .spawned(stubborn, _) = $0 { true } else { false } }
        leaders.append(try #require(await fleet.supervisor.snapshot().servers["s3"]?.instances.first?.pid))
        var escapees: [Int32] = []
        for (index, mode) in ["setsid", "double-fork", "setpgid"].enumerated() {
            let (id, event) = await fleet.startReady(try fleet.spec("e\(index)", flags: "--escape \(mode)"))
            guard case .ready = event else { throw Fleet.SpecError(description: "not ready: \(String(describing: event))") }
            leaders.append(try #require(await fleet.supervisor.snapshot().servers[id.name]?.instances.first?.pid))
            let pid = try #require(await escapeePid(of: id, in: fleet.log))
            #expect(await ignoresSIGTERM(pid))
            escapees.append(pid)
        }
        // The census records them while their ancestry is visible; wait until the ledger has.
        let expected = escapees
        let recorded = await eventually(timeout: .seconds(20)) {
            let ledger = (try? String(contentsOfFile: root + "/var/processes.json", encoding: .utf8)) ?? ""
            return expected.allSatisfy { ledger.contains("\"pid\": \($0),") }
        }
        try #require(recorded)
        let all = leaders + [try #require(grandchild)] + escapees
        // Unbuffered: the outer test reads this line while the host keeps running.
        FileHandle.standardOutput.write(Data(("pids " + all.map(String.init).joined(separator: " ") + "\n").utf8))
        try await Task.sleep(for: .seconds(120))
    }
}
