import Foundation
import Glibc
import Testing

/// `isolation: network` through the real controller: an isolated server is served as any other
/// (stdio needs no network), in a network namespace of its own; where the host permits no
/// namespaces it is not started, and `/status` and `controller status` say why.
@Suite(.serialized, .timeLimit(.minutes(2))) struct IsolationEndToEndTests {
    static let manifests = [
        "servers/iso.yaml": """
        name: iso
        description: isolated demo server
        transport: stdio
        command: [mcp-demo]
        isolation: network
        health: { interval: 1s, timeout: 500ms, failure_threshold: 2 }

        """,
        "servers/demo.yaml": """
        name: demo
        description: demo server
        transport: stdio
        command: [mcp-demo]
        health: { interval: 1s, timeout: 500ms, failure_threshold: 2 }

        """,
        "config/default.yaml": "features: { iso: { enabled: true }, demo: { enabled: true } }\n",
    ]

    private func scratch() throws -> Scratch {
        let scratch = try Scratch()
        for (path, text) in Self.manifests { try scratch.write(path, text) }
        return scratch
    }

    private func supported() -> Bool {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        probe.arguments = ["--net", "/bin/true"]
        let user = Process()
        user.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        user.arguments = ["--user", "--net", "/bin/true"]
        for process in [probe, user] {
            process.standardError = FileHandle.nullDevice
            guard (try? process.run()) != nil else { continue }
            process.waitUntilExit()
            if process.terminationStatus == 0 { return true }
        }
        print("skipped: this machine forbids network namespaces (unshare --net and unshare --user --net fail)")
        return false
    }

    @Test func anIsolatedServerIsReadyInANamespaceOfItsOwn() throws {
        guard supported() else { return }
        let scratch = try scratch()
        let controller = try RunningController(root: scratch.root)
        let probe = try #require(controller.waitForLog { $0["event"] as? String == "isolation" })
        #expect((probe["msg"] as? String)?.hasPrefix("isolation: network supported") == true)
        _ = try controller.waitForStatus("/readyz", 200)
        let spawned = try #require(
            controller.waitForLog { $0["event"] as? String == "spawned" && $0["srv"] as? String == "iso" })
        let pid = try #require((spawned["pid"] as? NSNumber)?.int32Value)
        let inside = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/net")
        let outside = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net")
        #expect(inside != outside)
        let devices = try String(contentsOfFile: "/proc/\(pid)/net/dev", encoding: .utf8)
        let names = devices.split(separator: "\n").dropFirst(2).map { $0.split(separator: ":")[0].trimmingCharacters(in: .whitespaces) }
        #expect(names == ["lo"])
        #expect(controller.stop() == 0)
    }

    /// The controller runs in a user namespace of its own without CAP_SYS_ADMIN and with no
    /// further user namespaces allowed (`max_user_namespaces` = 0 inside it): neither way to
    /// make a network namespace is left, as on a locked-down host.
    @Test func whereNamespacesAreForbiddenTheServerIsNotStartedAndStatusSaysWhy() throws {
        guard supported() else { return }
        let scratch = try scratch()
        let lockdown = [
            "/usr/bin/unshare", "--user", "--map-root-user", "/bin/sh", "-c",
            "echo 0 > /proc/sys/user/max_user_namespaces && exec setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin \"$@\"",
            "lockdown",
        ]
        let controller = try RunningController(root: scratch.root, wrapper: lockdown)
        let probe = try #require(controller.waitForLog { $0["event"] as? String == "isolation" })
        let reason =
            "isolation: network: unshare(CLONE_NEWNET): Operation not permitted; user namespaces: unshare(CLONE_NEWUSER|CLONE_NEWNET): No space left on device"
        #expect(probe["msg"] as? String == "isolation: network not supported: \(reason)")
        #expect(controller.waitForLog { $0["event"] as? String == "spawn_failed" && $0["srv"] as? String == "iso" } != nil)
        // The other server runs as ever.
        #expect(controller.waitForLog { $0["event"] as? String == "ready" && $0["srv"] as? String == "demo" } != nil)
        #expect(controller.events("spawned").allSatisfy { $0["srv"] as? String != "iso" })
        let (code, body) = try controller.get("/status")
        #expect(code == 200)
        #expect(body.contains("not restarted: spawn failed: isolation: network is not possible on this host: \(reason)"), "\(body)")
        let url = "http://127.0.0.1:\(controller.port)"
        let status = try ControllerProcess.run(["status", "--root", scratch.root, "--url", url])
        #expect(status.stdout.contains("isolation: network is not possible on this host"), "\(status.stdout)")
        #expect(controller.stop() == 0)
    }
}
