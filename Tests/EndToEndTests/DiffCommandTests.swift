import Foundation
import Testing

/// `controller diff` end to end: a server-side dry run against `controller run`, planned with
/// the controller's environment and layer whatever the shell that asks has.
@Suite(.serialized, .timeLimit(.minutes(3))) struct DiffCommandTests {
    /// `RunCommandTests.demo`, reading a secret.
    static let demo = RunCommandTests.demo + "env: { DEMO_TOKEN: \"${DEMO_TOKEN}\" }\nsecrets: [DEMO_TOKEN]\n"

    /// A root whose `development` layer enables `demo` (which needs `DEMO_TOKEN`); `idle` is
    /// never enabled.
    private func root(demoEnabled: Bool = true) throws -> Scratch {
        let scratch = try Scratch()
        try scratch.write(".env.example", "DEMO_TOKEN=\n")
        try scratch.write("config/default.yaml", "{}\n")
        try scratch.write("config/development.yaml", "features: { demo: { enabled: \(demoEnabled) } }\n")
        try scratch.write("servers/demo.yaml", Self.demo)
        try scratch.write("servers/idle.yaml", Self.demo.replacingOccurrences(of: "name: demo", with: "name: idle"))
        return scratch
    }

    private func started(_ scratch: Scratch) throws -> (RunningController, String) {
        let controller = try RunningController(
            root: scratch.root, environment: ["DEMO_TOKEN": "s3cret-demo-token"], extra: ["--env", "development"])
        _ = try controller.waitForStatus("/readyz", 200)
        #expect(try controller.get("/status").1.contains("\"phase\": \"ready\""))
        return (controller, "http://127.0.0.1:\(controller.port)")
    }

    /// The shell that asks has neither the secret nor `--env`: the controller's own say what runs.
    @Test func theSameFilesAreNoChangeWhateverTheShellLacks() throws {
        let scratch = try root()
        let (controller, url) = try started(scratch)
        let same = try ControllerProcess.run(["diff", "--root", scratch.root, "--against", url])
        #expect(same.status == 0, "\(same.stderr)")
        #expect(same.stdout == "diff \(scratch.root) (env: development) against the controller at \(url)\nno changes; 1 disabled\n")
        let all = try ControllerProcess.run(["diff", "--root", scratch.root, "--against", url, "--all"])
        #expect(all.status == 0)
        #expect(all.stdout.contains("\n  demo (unchanged: ready)\n  idle (skipped: disabled)\nno changes; 1 disabled\n"), "\(all.stdout)")
        // Planned locally with this shell's environment, the same files start nothing: no
        // layer is chosen, so demo is disabled.
        let local = try ControllerProcess.run(["diff", "--root", scratch.root])
        #expect(local.status == 0)
        #expect(local.stdout == "diff \(scratch.root) (env: none) against an empty world (no --against)\nno changes; 2 disabled\n")
        let planned = try ControllerProcess.run(["diff", "--root", scratch.root, "--env", "development"], environment: ["DEMO_TOKEN": "x"])
        #expect(planned.status == 1)
        #expect(planned.stdout.contains("\n+ start demo (new server)\n1 to start; 1 disabled\n"), "\(planned.stdout)")
        #expect(controller.stop() == 0)
    }

    @Test func aDisabledServerIsAStopAndEditsAreReplacesAndUpdates() throws {
        let scratch = try root()
        let (controller, url) = try started(scratch)
        let disabled = try root(demoEnabled: false)
        let stop = try ControllerProcess.run(["diff", "--root", disabled.root, "--against", url])
        #expect(stop.status == 1)
        #expect(stop.stdout.hasSuffix("\n- stop demo (disabled)\n1 to stop; 1 disabled\n"), "\(stop.stdout)")

        let edited = try root()
        try edited.write("servers/demo.yaml", Self.demo + "limits: { rps: 42, burst: 100 }\n")
        try edited.write("config/development.yaml", "features: { demo: { enabled: true }, idle: { enabled: true } }\n")
        let update = try ControllerProcess.run(["diff", "--root", edited.root, "--against", url])
        #expect(update.status == 1)
        #expect(update.stdout.contains("\n~ update demo (limits.rps 10 → 42, limits.burst 20 → 100)\n"), "\(update.stdout)")
        #expect(update.stdout.contains("\n+ start idle (new server)\n"))
        try edited.write("servers/demo.yaml", Self.demo.replacingOccurrences(of: "[mcp-demo]", with: "[mcp-demo, --era, legacy]"))
        let replace = try ControllerProcess.run(["diff", "--root", edited.root, "--against", url, "--format", "json"])
        #expect(replace.status == 1)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(replace.stdout.utf8)) as? [String: Any])
        #expect(json["env"] as? String == "development")
        #expect(json["against"] as? String == url)
        let changes = json["changes"] as? [[String: Any]] ?? []
        #expect(changes.first?["action"] as? String == "replace")
        #expect(changes.first?["instance"] as? String == "demo#1")
        #expect(changes.first?["reason"] as? String == "command changed")
        #expect(json["summary"] as? String == "1 to start, 1 to replace")
        // Nothing was applied: the same process still serves.
        #expect(try controller.get("/status").1.contains("\"id\": \"demo#1\""))
        #expect(!(try controller.get("/status").1.contains("idle#")))
        #expect(controller.stop() == 0)
    }

    @Test func errorsExitTwoWithTheReason() throws {
        let scratch = try root()
        let (controller, url) = try started(scratch)
        let missing = try ControllerProcess.run(["diff", "--root", scratch.root + "/nope", "--against", url])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("no directory"))
        let broken = try root()
        try broken.write("servers/demo.yaml", "name: [\n")
        let invalid = try ControllerProcess.run(["diff", "--root", broken.root, "--against", url])
        #expect(invalid.status == 2)
        #expect(invalid.stderr.contains("\(broken.root)/servers/demo.yaml:"), "\(invalid.stderr)")
        #expect(invalid.stderr.contains("the files are invalid as the controller at \(url) loads them"))
        let down = try ControllerProcess.run(["diff", "--root", scratch.root, "--against", "http://127.0.0.1:1"])
        #expect(down.status == 2)
        // The endpoint itself: a path that is not a layer or a manifest is refused.
        let (status, body) = try controller.post("/plan", #"{"root": ".", "files": {".env": "X=1"}}"#)
        #expect(status == 400)
        #expect(body.contains("is not config/<name>.yaml"))
        #expect(try controller.get("/plan").0 == 405)
        #expect(controller.stop() == 0)
    }
}
