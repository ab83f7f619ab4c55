import Desired
import Foundation
import Testing

/// A workspace of files a client sent (`controller diff --against`): loaded like the disk,
/// reading nothing from the disk.
@Suite struct SentFilesTests {
    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func sentFilesLoadAsTheDiskWouldWithTheCallersEnvironment() {
        let sent: [String: [UInt8]] = [
            "config/default.yaml": bytes("defaults: { limits: { rps: 1 } }\n"),
            "config/staging.yaml": bytes("features: { a: { enabled: true }, b: { enabled: true } }\n"),
            "config/production.yaml": bytes("features: { c: { enabled: true } }\n"),
            "servers/a.yaml": bytes(manifest("a")),
            "servers/b.yaml": bytes(manifest("b", "secrets: [B_TOKEN]")),
            "servers/c.yaml": bytes(manifest("c")),
        ]
        // The root labels diagnostics only: it does not exist, and nothing is read from it.
        let workspace = Workspace(root: "/no/such/root", envName: nil, files: .sent(sent))
        let environment = Environment(["OMNI_ENV": "staging"])
        #expect(workspace.layerName(environment) == "staging")
        let load = workspace.load(environment)
        #expect(load.diagnostics.isEmpty, "\(load.diagnostics)")
        #expect(load.configFiles == ["/no/such/root/config/default.yaml", "/no/such/root/config/staging.yaml"])
        #expect(load.state?.servers.keys.sorted() == ["a"])
        #expect(load.state?.skipped["b"] == .missing(["B_TOKEN"]))
        #expect(load.state?.skipped["c"] == .disabled)
        #expect(load.state?.servers["a"]?.policies.limits.rps == 1)
    }

    @Test func problemsInSentFilesNameTheSentPaths() {
        let workspace = Workspace(
            root: ".", envName: "missing",
            files: .sent(["config/default.yaml": bytes("{}\n"), "servers/a.yaml": bytes("name: [\n")]))
        let load = workspace.load(Environment([:]))
        #expect(load.state == nil)
        #expect(load.diagnostics.map(\.position.file).contains("config"))
        #expect(load.diagnostics.contains { $0.position.file == "servers/a.yaml" && $0.severity == .error })
        // No manifests sent: an empty servers directory, not a missing one.
        let empty = Workspace(root: ".", envName: nil, files: .sent([:])).load(Environment([:]))
        #expect(empty.diagnostics.isEmpty)
        #expect(empty.state?.servers.isEmpty == true)
    }

    @Test func aSentFileOverTheLimitIsRefusedWithItsSize() {
        let limits = YAMLLimits(maxBytes: 64)
        let workspace = Workspace(
            root: ".", envName: nil, limits: limits,
            files: .sent(["servers/a.yaml": bytes(manifest("a", String(repeating: "#", count: 100)))]))
        let load = workspace.load(Environment([:]))
        #expect(load.diagnostics.first?.position.file == "servers/a.yaml")
        #expect(load.diagnostics.first?.message.contains("64") == true)
    }

    @Test(arguments: [
        ("servers/a.yaml", true), ("config/default.yaml", true), ("servers/.a.yaml", false), ("servers/a.yml", false),
        ("servers/.yaml", false), (".env", false), ("../servers/a.yaml", false), ("servers/x/a.yaml", false),
        ("var/a.yaml", false), ("servers/a\n.yaml", false), ("/servers/a.yaml", false),
    ])
    func onlyConfigLayersAndManifestsMayBeSent(path: String, allowed: Bool) {
        #expect((WorkspaceFiles.problem(sentPath: path) == nil) == allowed)
    }

    @Test func theFilesToSendAreTheRootsLayersAndManifestsOnly() throws {
        let disk = try TemporaryWorkspace()
        try disk.write("config/default.yaml", "{}\n")
        try disk.write("config/local.yaml", "{}\n")
        try disk.write("servers/a.yaml", manifest("a"))
        try disk.write("servers/.a.yaml.swp", "junk")
        try disk.write("servers/b.yml", "junk")
        try disk.write(".env", "SECRET=value\n")
        let files = try Workspace(root: disk.root, envName: nil).filesToSend()
        #expect(files.keys.sorted() == ["config/default.yaml", "config/local.yaml", "servers/a.yaml"])
        #expect(files["servers/a.yaml"] == Array(manifest("a").utf8))
    }
}
