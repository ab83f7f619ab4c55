import Foundation
import Glibc
import Testing

/// Changes inotify never reports reach `controller run` by the two other ways it reloads: SIGHUP
/// and the periodic resync. `config/local.yaml` is a symlink to `elsewhere/local.yaml`, and the
/// test edits that file in place: `elsewhere/` is not a watched directory, so the watcher sees
/// nothing, and the change (enabling `demo`) can only arrive through the reload under test.
@Suite(.serialized, .timeLimit(.minutes(3))) struct UnwatchedChangeTests {
    private func scratch(reconcile: String) throws -> Scratch {
        let scratch = try Scratch()
        try scratch.write(".env.example", "OMNI_API_TOKENS=\nDEMO_TOKEN=\n")
        try scratch.write("config/default.yaml", "{}\n")
        try scratch.write("servers/demo.yaml", RunCommandTests.demo)
        try FileManager.default.createDirectory(atPath: scratch.root + "/elsewhere", withIntermediateDirectories: true)
        try scratch.write("elsewhere/local.yaml", "reconcile: \(reconcile)\n")
        try FileManager.default.createSymbolicLink(
            atPath: scratch.root + "/config/local.yaml", withDestinationPath: "../elsewhere/local.yaml")
        return scratch
    }

    /// Enables `demo` by an in-place write behind the symlink.
    private func enableOutOfSight(_ scratch: Scratch, reconcile: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch.root + "/elsewhere/local.yaml"))
        defer { try? handle.close() }
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data("reconcile: \(reconcile)\nfeatures: { demo: { enabled: true } }\n".utf8))
    }

    /// The `reload` records of the audit log, as (cause, changes).
    private func auditReloads(_ scratch: Scratch) throws -> [(cause: String, changes: [String])] {
        let text = try String(contentsOfFile: scratch.root + "/var/audit.ndjson", encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            guard let record = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                record["kind"] as? String == "reload"
            else { return nil }
            return (record["cause"] as? String ?? "", record["changes"] as? [String] ?? [])
        }
    }

    private func message(_ record: [String: Any]) -> String { record["msg"] as? String ?? "" }

    @Test func sighupRereadsTheFiles() throws {
        // A resync of a day: within this test only SIGHUP can reload.
        let scratch = try scratch(reconcile: "{ resync: 24h }")
        let controller = try RunningController(root: scratch.root)
        #expect(try controller.waitForStatus("/readyz", 200).hasPrefix("ready: 0 server(s)"))
        try enableOutOfSight(scratch, reconcile: "{ resync: 24h }")
        kill(controller.process.processIdentifier, SIGHUP)
        let loaded = controller.waitForLog { $0["event"] as? String == "config.loaded" && $0["cause"] as? String == "SIGHUP" }
        let record = try #require(loaded, "no config.loaded with cause SIGHUP: \(controller.log.suffix(10))")
        #expect(message(record).hasPrefix("1 server(s) to run"), "\(record)")
        #expect(message(record).contains("+ demo"), "\(record)")
        #expect(try controller.waitForStatus("/readyz", 200).hasPrefix("ready: 1 server(s)"))
        // The change came through SIGHUP alone: the only loads are the start and the signal.
        #expect(controller.events("config.loaded").map { $0["cause"] as? String ?? "" } == ["start", "SIGHUP"])
        #expect(controller.stop() == 0)
        let reloads = try auditReloads(scratch)
        #expect(reloads.map(\.cause) == ["start", "SIGHUP"])
        #expect(reloads.last?.changes == ["+ demo"])
    }

    @Test func thePeriodicResyncPicksUpWhatTheWatcherCannotSee() throws {
        let scratch = try scratch(reconcile: "{ resync: 1s }")
        let controller = try RunningController(root: scratch.root)
        #expect(try controller.waitForStatus("/readyz", 200).hasPrefix("ready: 0 server(s)"))
        try enableOutOfSight(scratch, reconcile: "{ resync: 1s }")
        let loaded = controller.waitForLog { $0["event"] as? String == "config.loaded" && message($0).contains("+ demo") }
        let record = try #require(loaded, "demo was never enabled: \(controller.log.suffix(10))")
        #expect(record["cause"] as? String == "resync", "\(record)")
        #expect(try controller.waitForStatus("/readyz", 200).hasPrefix("ready: 1 server(s)"))
        // No load but the start and the resyncs.
        let causes = Set(controller.events("config.loaded").map { $0["cause"] as? String ?? "" })
        #expect(causes == ["start", "resync"])
        #expect(controller.stop() == 0)
        let reloads = try auditReloads(scratch)
        #expect(reloads.first?.cause == "start")
        #expect(reloads.filter { $0.changes == ["+ demo"] }.map(\.cause) == ["resync"])
        #expect(reloads.dropFirst().allSatisfy { $0.cause == "resync" })
    }
}
