import Foundation
import Glibc
import Testing

/// `controller run` end to end: the built binary, real `mcp-demo` children, curl, signals.
@Suite(.serialized, .timeLimit(.minutes(3))) struct RunCommandTests {
    static let demo = """
        name: demo
        description: demo server
        transport: stdio
        command: [mcp-demo]
        health: { interval: 1s, timeout: 500ms, failure_threshold: 2 }

        """

    private func scratch(enabled: Bool = false) throws -> Scratch {
        let scratch = try Scratch()
        try scratch.write(".env.example", "OMNI_API_TOKENS=\nDEMO_TOKEN=\n")
        try scratch.write("config/default.yaml", enabled ? "features: { demo: { enabled: true } }\n" : "{}\n")
        try scratch.write("servers/demo.yaml", Self.demo)
        return scratch
    }

    private func pids(_ status: String) -> [Int32] {
        status.split(separator: "\n").filter { $0.contains("\"pid\"") }.compactMap { line in
            Int32(line.split(separator: ":").last?.trimmingCharacters(in: .whitespaces.union(.punctuationCharacters)) ?? "")
        }
    }

    @Test func withZeroEnabledServersItIsReadyAndLogsNoError() throws {
        let scratch = try scratch()
        let controller = try RunningController(root: scratch.root)
        #expect(try controller.waitForStatus("/readyz", 200).hasPrefix("ready: 0 server(s)"))
        #expect(try controller.get("/healthz").0 == 200)
        #expect(controller.stop() == 0)
        // The reader thread may still be appending the last lines: wait for the last one, then
        // look at one snapshot.
        #expect(controller.waitForLog { $0["event"] as? String == "shutdown.done" } != nil)
        let lines = controller.log
        let records = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(records.count == lines.count, "every line is JSON: \(lines)")
        #expect(records.allSatisfy { $0["level"] as? String != "error" }, "\(lines)")
    }

    /// Enabling a server needs config or environment only; readiness follows the server.
    @Test func aServerEnabledThroughTheEnvironmentBecomesReady() throws {
        let scratch = try scratch()
        let controller = try RunningController(root: scratch.root, environment: ["OMNI_FEATURE_DEMO": "true"])
        #expect(try controller.waitForStatus("/readyz", 200).hasPrefix("ready: 1 server(s)"))
        let (code, status) = try controller.get("/status")
        #expect(code == 200)
        #expect(status.contains("\"era\": \"modern\""))
        let servers = pids(status)
        #expect(servers.count == 1)
        // The exposition passes Prometheus's own checker.
        let (_, metrics) = try controller.get("/metrics")
        #expect(metrics.contains("omni_server_up{server=\"demo\"} 1"))
        #expect(metrics.contains("omni_supervisor_events_dropped_total 0"))
        let promtool = Process()
        promtool.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
        promtool.arguments = ["check", "metrics"]
        let input = Pipe()
        promtool.standardInput = input
        promtool.standardOutput = FileHandle.nullDevice
        promtool.standardError = FileHandle.nullDevice
        try promtool.run()
        input.fileHandleForWriting.write(Data(metrics.utf8))
        try input.fileHandleForWriting.close()
        promtool.waitUntilExit()
        #expect(promtool.terminationStatus == 0)
        // SIGTERM: every server stopped, exit 0, nothing left.
        #expect(controller.stop() == 0)
        for pid in servers { #expect(kill(pid, 0) != 0, "server \(pid) outlived the controller") }
        #expect(controller.waitForLog { $0["event"] as? String == "shutdown.done" } != nil)
    }

    /// Rename-save, in-place write, Kubernetes symlink swap, a broken edit, and a delete: each
    /// changes the fleet without a restart, and the broken edit changes nothing that runs.
    @Test func editsTakeEffectWithoutARestart() throws {
        let scratch = try scratch(enabled: true)
        // The manifest lives behind a ConfigMap-style `..data` symlink.
        try FileManager.default.removeItem(atPath: scratch.root + "/servers/demo.yaml")
        try FileManager.default.createDirectory(atPath: scratch.root + "/servers/..v1", withIntermediateDirectories: true)
        try scratch.write("servers/..v1/demo.yaml", Self.demo)
        try FileManager.default.createSymbolicLink(atPath: scratch.root + "/servers/..data", withDestinationPath: "..v1")
        try FileManager.default.createSymbolicLink(atPath: scratch.root + "/servers/demo.yaml", withDestinationPath: "..data/demo.yaml")
        let controller = try RunningController(root: scratch.root)
        _ = try controller.waitForStatus("/readyz", 200)

        // Symlink swap: a new ..v2, ..data_tmp pointing at it, renamed over ..data.
        try FileManager.default.createDirectory(atPath: scratch.root + "/servers/..v2", withIntermediateDirectories: true)
        try scratch.write("servers/..v2/demo.yaml", Self.demo.replacingOccurrences(of: "[mcp-demo]", with: "[mcp-demo, --era, legacy]"))
        try FileManager.default.createSymbolicLink(atPath: scratch.root + "/servers/..data_tmp", withDestinationPath: "..v2")
        rename(scratch.root + "/servers/..data_tmp", scratch.root + "/servers/..data")
        #expect(
            controller.waitForLog { $0["event"] as? String == "action.replace" && ($0["msg"] as? String ?? "").contains("command changed") }
                != nil)
        #expect(controller.waitForLog { ($0["msg"] as? String ?? "").contains("demo#2 ready (legacy") } != nil)

        // Rename-save (how vim and sed -i write): a temp file renamed over the manifest (here
        // over the symlink, which rename replaces atomically).
        try scratch.write("servers/demo.yaml.tmp", Self.demo + "limits: { rps: 7, burst: 14 }\n")
        rename(scratch.root + "/servers/demo.yaml.tmp", scratch.root + "/servers/demo.yaml")
        #expect(
            controller.waitForLog { $0["event"] as? String == "action.replace" && ($0["msg"] as? String ?? "").contains("demo#2") } != nil)
        #expect(controller.waitForLog { ($0["msg"] as? String ?? "").contains("demo#3 ready") } != nil)

        // In-place write of a policy: updated in place, no new process.
        try scratch.write("servers/demo.yaml", Self.demo + "limits: { rps: 9, burst: 14 }\n")
        #expect(
            controller.waitForLog { $0["event"] as? String == "action.update" && ($0["msg"] as? String ?? "").contains("limits.rps 7 → 9") }
                != nil)

        // A broken edit: reported, and the server keeps running as it was: the same process,
        // and the broken file named as the one whose last good content was kept.
        let pidBefore = try #require(try Self.readyPid(controller, "demo"))
        try scratch.write("servers/demo.yaml", Self.demo + "limits: { rps: fast }\n")
        #expect(controller.waitForLog { $0["event"] as? String == "config.problem" && ($0["msg"] as? String ?? "").contains("rps") } != nil)
        let (_, metrics) = try controller.get("/metrics")
        #expect(metrics.contains("controller_config_last_reload_successful 0"))
        #expect(try controller.get("/readyz").0 == 200)
        let status = try #require(JSONSerialization.jsonObject(with: Data(try controller.get("/status").1.utf8)) as? [String: Any])
        let kept = (status["last_reload"] as? [String: Any])?["kept_last_good"] as? [String] ?? []
        #expect(kept.count == 1)
        #expect(kept.first?.hasSuffix("servers/demo.yaml") == true)
        #expect(try Self.readyPid(controller, "demo") == pidBefore)
        #expect(controller.events("action.stop").allSatisfy { !($0["msg"] as? String ?? "").contains("removed") })

        // Delete: stopped.
        try FileManager.default.removeItem(atPath: scratch.root + "/servers/demo.yaml")
        #expect(
            controller.waitForLog { $0["event"] as? String == "action.stop" && ($0["msg"] as? String ?? "").contains("(removed)") } != nil)
        #expect(controller.stop() == 0)
    }

    @Test func secretsAreRedactedFromEveryLogLine() throws {
        let scratch = try scratch(enabled: true)
        try scratch.write(
            "servers/demo.yaml",
            """
            name: demo
            description: demo server that prints its token
            transport: stdio
            command: [/bin/sh, -c, 'echo "my token is $$TOKEN" >&2; exec mcp-demo']
            env: { TOKEN: "${DEMO_TOKEN}" }
            secrets: [DEMO_TOKEN]

            """)
        let secret = "s3cr3t-value-0123456789"
        let controller = try RunningController(root: scratch.root, environment: ["DEMO_TOKEN": secret])
        #expect(controller.waitForLog { ($0["msg"] as? String ?? "").hasPrefix("my token is") } != nil)
        #expect(controller.stop() == 0)
        #expect(controller.log.contains { $0.contains("my token is [REDACTED]") })
        #expect(!controller.log.contains { $0.contains(secret) })
    }

    @Test func listeningOffLoopbackWithoutTokensIsRefused() throws {
        let scratch = try scratch()
        let outcome = try ControllerProcess.run(["run", "--root", scratch.root, "--listen", "0.0.0.0:1"])
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("requires tokens in OMNI_API_TOKENS"))
    }

    /// Probes need no token (`/readyz` then names no server); everything else does.
    @Test func tokensGuardEverythingButTheProbes() throws {
        let scratch = try scratch()
        let controller = try RunningController(root: scratch.root, environment: ["OMNI_API_TOKENS": "other, t0k3n-abcdef"])
        #expect(try controller.waitForStatus("/readyz", 200) == "ready\n\n")
        let detailed = try controller.get("/readyz", token: "t0k3n-abcdef")
        #expect(detailed.0 == 200 && detailed.1.hasPrefix("ready: 0 server(s)"))
        #expect(try controller.get("/status").0 == 401)
        // Wrong tokens: a prefix, an extension, another value, the whole list as one token.
        for wrong in ["t0k3n-abcde", "t0k3n-abcdef0", "wrong-token-value", "other, t0k3n-abcdef"] {
            let (code, body) = try controller.get("/status", token: wrong)
            #expect(code == 401, "token \(wrong)")
            #expect(body.hasPrefix("unauthorized"), "token \(wrong)")
        }
        // Malformed headers carrying the right token: no scheme, another scheme, the scheme
        // alone, no space after it, two spaces after it.
        for header in ["t0k3n-abcdef", "Basic t0k3n-abcdef", "Bearer", "Bearert0k3n-abcdef", "Bearer  t0k3n-abcdef"] {
            #expect(try controller.get("/status", authorization: header).0 == 401, "Authorization: \(header)")
            #expect(try controller.get("/metrics", authorization: header).0 == 401, "Authorization: \(header)")
        }
        // The scheme is case-insensitive (RFC 9110 §11.1).
        #expect(try controller.get("/status", authorization: "bearer t0k3n-abcdef").0 == 200)
        #expect(try controller.get("/status", token: "t0k3n-abcdef").0 == 200)
        #expect(try controller.get("/metrics", token: "other").0 == 200)
        let plan = #"{"root": ".", "files": {}}"#
        #expect(try controller.post("/plan", plan).0 == 401)
        #expect(try controller.post("/plan", plan, token: "other").0 == 200)
        // `diff` sends the first token of the variable the root's config names, from its shell.
        let url = "http://127.0.0.1:\(controller.port)"
        let refused = try ControllerProcess.run(["diff", "--root", scratch.root, "--against", url])
        #expect(refused.status == 2 && refused.stderr.contains("asks for a token"))
        let diff = try ControllerProcess.run(["diff", "--root", scratch.root, "--against", url], environment: ["OMNI_API_TOKENS": "other"])
        #expect(diff.status == 0 && diff.stdout.hasSuffix("\nno changes; 1 disabled\n"), "\(diff.stdout)\(diff.stderr)")
        #expect(controller.stop() == 0)
    }

    /// The pid of `server`'s ready process, from `/status`.
    static func readyPid(_ controller: RunningController, _ server: String) throws -> Int? {
        let status = try JSONSerialization.jsonObject(with: Data(try controller.get("/status").1.utf8)) as? [String: Any]
        let servers = status?["servers"] as? [[String: Any]] ?? []
        let instances = servers.first { $0["name"] as? String == server }?["instances"] as? [[String: Any]] ?? []
        return instances.first { $0["phase"] as? String == "ready" }?["pid"] as? Int
    }

    /// A skipped server whose secret `url:` is not a URL: its reason quotes the resolved value,
    /// which neither `/status`, `/readyz` nor the log may carry.
    @Test func aSkippedServersSecretNeverLeaves() throws {
        let scratch = try Scratch()
        try scratch.write(".env.example", "REMOTE_URL=\n")
        try scratch.write("config/default.yaml", "features: { remote: { enabled: true } }\n")
        try scratch.write(
            "servers/remote.yaml",
            "name: remote\ndescription: remote\ntransport: http\nurl: \"${REMOTE_URL}\"\nsecrets: [REMOTE_URL]\n")
        let secret = "ftp-s3cr3t-host-value"
        let controller = try RunningController(root: scratch.root, environment: ["REMOTE_URL": secret])
        _ = try controller.waitForStatus("/readyz", 200)
        let status = try controller.get("/status")
        #expect(status.0 == 200)
        #expect(status.1.contains("remote"))
        #expect(!status.1.contains(secret))
        #expect(!(try controller.get("/readyz").1.contains(secret)))
        // The dry run loads with the controller's environment, which has the secret (the asking
        // shell has not): the files are invalid there, and the diagnostic is redacted on the way
        // out. Planned locally with the secret, the terminal gets the same redaction.
        let url = "http://127.0.0.1:\(controller.port)"
        let diff = try ControllerProcess.run(["diff", "--root", scratch.root, "--against", url, "--all"])
        let local = try ControllerProcess.run(["diff", "--root", scratch.root, "--all"], environment: ["REMOTE_URL": secret])
        for outcome in [diff, local] {
            #expect(outcome.status == 2)
            #expect(outcome.stderr.contains("servers/remote.yaml:4:6: error: url: url resolves to \"[REDACTED]\""), "\(outcome.stderr)")
            #expect(!outcome.stdout.contains(secret) && !outcome.stderr.contains(secret))
        }
        #expect(controller.stop() == 0)
        #expect(!controller.log.joined().contains(secret))
    }

    /// A manifest added while running, whose secret `url:` is not a URL: the reload's own
    /// diagnostic quotes the value, and is logged and audited only after the redactor knows it.
    @Test func aNewManifestsSecretIsRedactedFromItsOwnReload() throws {
        let scratch = try Scratch()
        try scratch.write(".env.example", "REMOTE_URL=\n")
        try scratch.write("config/default.yaml", "features: { remote: { enabled: true } }\n")
        let secret = "ftp-added-later-s3cr3t"
        let controller = try RunningController(root: scratch.root, environment: ["REMOTE_URL": secret])
        _ = try controller.waitForStatus("/readyz", 200)
        try scratch.write(
            "servers/remote.yaml",
            "name: remote\ndescription: remote\ntransport: http\nurl: \"${REMOTE_URL}\"\nsecrets: [REMOTE_URL]\n")
        let problem = controller.waitForLog { ($0["event"] as? String) == "config.problem" && "\($0["msg"] ?? "")".contains("remote.yaml") }
        #expect((problem?["msg"] as? String)?.contains("url resolves to \"[REDACTED]\"") == true, "\(String(describing: problem))")
        #expect(controller.stop() == 0)
        #expect(!controller.log.joined().contains(secret))
        let audit = try String(contentsOfFile: scratch.root + "/var/audit.ndjson", encoding: .utf8)
        #expect(audit.contains("[REDACTED]") && !audit.contains(secret))
    }

    /// `status` and `health` against a running controller (`diff` has its own suite).
    @Test func statusAndHealthTalkToARunningController() throws {
        let scratch = try scratch(enabled: true)
        let controller = try RunningController(root: scratch.root)
        _ = try controller.waitForStatus("/readyz", 200)
        let url = "http://127.0.0.1:\(controller.port)"
        let health = try ControllerProcess.run(["health", "--root", scratch.root, "--url", url])
        #expect(health.status == 0)
        #expect(health.stdout.hasPrefix("ready: 1 server(s)"))
        let status = try ControllerProcess.run(["status", "--root", scratch.root, "--url", url])
        #expect(status.stdout.contains("demo    run      ready  1"), "\(status.stdout)")
        #expect(controller.stop() == 0)
        // Unreachable (port 1: nothing listens there, and no test can bind it).
        let down = try ControllerProcess.run(["health", "--root", scratch.root, "--url", "http://127.0.0.1:1"])
        #expect(down.status == 2)
    }

    /// A crash loop reaches quarantine; once the cause is gone, the half-open start after the
    /// cool-down (shortened here) brings the server back. Every step is in the audit log.
    @Test func aCrashLoopIsQuarantinedAndRecoversAfterTheCoolDown() throws {
        let scratch = try scratch(enabled: true)
        try scratch.write("crash", "")
        try scratch.write(
            "servers/demo.yaml",
            """
            name: demo
            description: crashes while the file `crash` exists
            transport: stdio
            command: [/bin/sh, -c, 'if [ -e crash ]; then exit 3; fi; exec mcp-demo']
            health: { interval: 1s, timeout: 500ms, failure_threshold: 2 }
            restart: { backoff: [50ms], budget: 2/30s, quarantine: 2s, reset_after: 5s }

            """)
        let controller = try RunningController(root: scratch.root)
        #expect(
            controller.waitForLog { $0["event"] as? String == "hold" && ($0["msg"] as? String ?? "").hasPrefix("quarantined: 3 exits") }
                != nil)
        #expect(try controller.get("/readyz").0 == 503)
        #expect(try controller.get("/status").1.contains("quarantined"))
        // Three exits, two of them followed by a restart (the third tripped the budget).
        #expect(try controller.get("/metrics").1.contains("omni_server_restarts_total{server=\"demo\"} 2\n"))
        try FileManager.default.removeItem(atPath: scratch.root + "/crash")
        #expect(controller.waitForLog { ($0["msg"] as? String ?? "").contains("half-open start after quarantine") } != nil)
        _ = try controller.waitForStatus("/readyz", 200)
        #expect(controller.stop() == 0)
        let audit = try String(contentsOfFile: scratch.root + "/var/audit.ndjson", encoding: .utf8)
        let kinds = audit.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["kind"] as? String
        }
        #expect(kinds.first == "reload")
        #expect(kinds.contains("exited") && kinds.contains("hold") && kinds.contains("action") && kinds.last == "shutdown")
    }

    /// A second SIGTERM during a slow graceful stop exits at once; the servers still die with
    /// the controller (PDEATHSIG), even one that ignores both EOF and SIGTERM.
    @Test func aSecondSignalExitsAtOnce() throws {
        let scratch = try scratch(enabled: true)
        try scratch.write(
            "servers/demo.yaml",
            """
            name: demo
            description: ignores EOF and SIGTERM
            transport: stdio
            command: [/bin/sh, -c, "trap '' TERM; exec sleep 1000"]

            """)
        let controller = try RunningController(root: scratch.root)
        let spawned = try #require(controller.waitForLog { $0["event"] as? String == "spawned" })
        let pid = try #require((spawned["pid"] as? NSNumber)?.int32Value)
        kill(controller.process.processIdentifier, SIGTERM)
        #expect(controller.waitForLog { $0["event"] as? String == "shutdown" } != nil)
        #expect(controller.stop(SIGTERM) == 1)
        #expect(controller.log.contains { $0.contains("second signal") })
        // It did not wait for the graceful stop (which needs the 10 s escalation here).
        #expect(controller.events("shutdown.done").isEmpty)
        // The server dies by PDEATHSIG once the controller is gone (a zombie is dead too: it
        // may have been re-parented to this test process, which does not reap it).
        var gone = false
        for _ in 0..<500 where !gone {
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            gone = stat.isEmpty || stat.split(separator: ")").last?.split(separator: " ").first == "Z"
            if !gone { usleep(10_000) }
        }
        #expect(gone)
    }
}
