import CSystem
import Foundation
import Glibc
import Testing

@testable import Actual

/// `reclaimLeftovers` reads `var/processes.json`, which a crash may leave stale or damaged: a
/// ledger from another boot, a pid reused by an unrelated process, a file that is not a ledger.
/// None of them may lead to a kill; each is replaced by an empty ledger. The bystander is a
/// `sleep` this test starts as the leader of a process group of its own, exactly as a server
/// would be, so that only the ledger's identity checks stand between it and a SIGTERM (the
/// first test shows that a matching entry does stop it).
@Suite(.serialized, .timeLimit(.minutes(1))) struct LeftoverLedgerSafetyTests {
    /// `/bin/sleep 1000` as a process group leader (through the supervisor's own spawn shim).
    private final class Bystander {
        let pid: Int32
        let startTicks: UInt64

        init() throws {
            let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
            defer { close(devNull) }
            let arguments = ["/bin/sleep", "1000"]
            let environment = ["PATH=/usr/bin:/bin"]
            let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
            let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
            defer { for pointer in argv + envp { free(pointer) } }
            var step: Int32 = 0
            var error: Int32 = 0
            let pid = arguments[0].withCString { path in
                argv.withUnsafeBufferPointer { argvBuffer in
                    envp.withUnsafeBufferPointer { envBuffer in
                        var request = omni_spawn_request(
                            path: path, argv: argvBuffer.baseAddress, envp: envBuffer.baseAddress, cwd: nil, stdin_fd: devNull,
                            stdout_fd: devNull, stderr_fd: devNull, exec_timeout_ms: 10_000, new_session: 1)
                        return omni_spawn(&request, &step, &error)
                    }
                }
            }
            guard pid > 0, let stats = ProcessStats.read(pid: pid) else {
                throw Fleet.SpecError(description: "cannot start sleep: step \(step), errno \(error)")
            }
            self.pid = pid
            startTicks = stats.startTicks
            // The premise of every test here: it leads its own group, as a server does.
            guard stats.processGroup == pid else { throw Fleet.SpecError(description: "sleep is not a group leader") }
        }

        /// Running: neither gone nor a zombie.
        var isRunning: Bool { ProcessStats.read(pid: pid).map { !$0.isZombie } ?? false }

        deinit {
            kill(pid, SIGKILL)
            _ = waitpid(pid, nil, 0)
        }
    }

    private func ledger(bootID: String, groups: String) -> String {
        "{\"boot_id\": \"\(bootID)\", \"groups\": \(groups)}\n"
    }

    private func group(name: String = "demo", pid: Int32, ticks: UInt64) -> String {
        "[{\"name\": \"\(name)\", \"pid\": \(pid), \"start_ticks\": \"\(ticks)\"}]"
    }

    /// Writes `text` as the ledger of a fresh root, reclaims, and returns what was reclaimed.
    private func reclaim(_ text: String, in fleet: Fleet) async throws -> [(name: String, pids: [Int32])] {
        try Data(text.utf8).write(to: URL(fileURLWithPath: fleet.root + "/var/processes.json"))
        return await fleet.supervisor.reclaimLeftovers()
    }

    /// The ledger after a reclaim: this boot's id and no groups, whatever was there before.
    private func expectEmptyLedger(_ fleet: Fleet, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: fleet.root + "/var/processes.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], sourceLocation: sourceLocation)
        #expect(json["boot_id"] as? String == ProcessLedger.bootID(), sourceLocation: sourceLocation)
        #expect((json["groups"] as? [Any])?.isEmpty == true, "ledger: \(json)", sourceLocation: sourceLocation)
    }

    /// Control: an entry of this boot with the group's pid and start time is stopped.
    @Test func anEntryMatchingPidBootAndStartTimeIsStopped() async throws {
        let fleet = try Fleet()
        let bystander = try Bystander()
        let reclaimed = try await reclaim(
            ledger(bootID: ProcessLedger.bootID(), groups: group(pid: bystander.pid, ticks: bystander.startTicks)), in: fleet)
        #expect(reclaimed.map(\.name) == ["demo"])
        #expect(reclaimed.first?.pids == [bystander.pid])
        #expect(waitForExit(bystander.pid, timeout: .seconds(10)))
        try expectEmptyLedger(fleet)
    }

    /// The recorded process started earlier than the one now holding its pid: the pid was
    /// reused (the recorded group is gone), and the process now holding it is a stranger.
    @Test func aReusedPidIsNotKilled() async throws {
        let fleet = try Fleet()
        let bystander = try Bystander()
        try #require(bystander.startTicks > 0)
        let reclaimed = try await reclaim(
            ledger(bootID: ProcessLedger.bootID(), groups: group(pid: bystander.pid, ticks: bystander.startTicks - 1)), in: fleet)
        #expect(reclaimed.isEmpty)
        #expect(bystander.isRunning)
        try expectEmptyLedger(fleet)
    }

    /// A ledger written during another boot: its pids and start times mean nothing now, even
    /// when they happen to match a live process exactly.
    @Test func anotherBootsLedgerIsIgnored() async throws {
        let fleet = try Fleet()
        let bystander = try Bystander()
        let otherBoot = "00000000-0000-4000-8000-000000000000"
        try #require(otherBoot != ProcessLedger.bootID())
        let reclaimed = try await reclaim(
            ledger(bootID: otherBoot, groups: group(pid: bystander.pid, ticks: bystander.startTicks)), in: fleet)
        #expect(reclaimed.isEmpty)
        #expect(bystander.isRunning)
        try expectEmptyLedger(fleet)
        // No boot id at all is no better.
        let anonymous = try await reclaim("{\"groups\": \(group(pid: bystander.pid, ticks: bystander.startTicks))}\n", in: fleet)
        #expect(anonymous.isEmpty)
        #expect(bystander.isRunning)
        try expectEmptyLedger(fleet)
    }

    /// Files that are not a ledger, or entries that are not entries: nothing is stopped, and the
    /// file is replaced by an empty ledger.
    @Test func aMalformedLedgerStopsNothingAndIsReplaced() async throws {
        let fleet = try Fleet()
        let bystander = try Bystander()
        let boot = ProcessLedger.bootID()
        let pid = bystander.pid
        let ticks = bystander.startTicks
        let malformed = [
            // Cut off mid-write (the old non-atomic writer's crash).
            String(ledger(bootID: boot, groups: group(pid: pid, ticks: ticks)).dropLast(30)),
            "not json at all\n",
            "",
            // The pid as a string, the start time as a number, the name missing.
            ledger(bootID: boot, groups: "[{\"name\": \"demo\", \"pid\": \"\(pid)\", \"start_ticks\": \"\(ticks)\"}]"),
            ledger(bootID: boot, groups: "[{\"name\": \"demo\", \"pid\": \(pid), \"start_ticks\": \(ticks)}]"),
            ledger(bootID: boot, groups: "[{\"pid\": \(pid), \"start_ticks\": \"\(ticks)\"}]"),
            // Groups that are not a list.
            ledger(bootID: boot, groups: "{\"demo\": \(pid)}"),
            // Start ticks that are not a number.
            ledger(bootID: boot, groups: "[{\"name\": \"demo\", \"pid\": \(pid), \"start_ticks\": \"soon\"}]"),
        ]
        for text in malformed {
            let reclaimed = try await reclaim(text, in: fleet)
            #expect(reclaimed.isEmpty, "ledger: \(text)")
            #expect(bystander.isRunning, "ledger: \(text)")
            try expectEmptyLedger(fleet)
        }
    }
}
