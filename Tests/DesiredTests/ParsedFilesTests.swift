import Desired
import Foundation
import Testing

/// A load reuses what the previous one parsed for every file whose device, inode, size and
/// times are unchanged, and parses the rest.
@Suite struct ParsedFilesTests {
    private func workspace() throws -> TemporaryWorkspace {
        let workspace = try TemporaryWorkspace()
        try workspace.write("config/default.yaml", "features: { a: { enabled: true }, b: { enabled: true } }\n")
        try workspace.write("servers/a.yaml", manifest("a"))
        try workspace.write("servers/b.yaml", manifest("b"))
        try workspace.write("servers/broken.yaml", "name: [\n")
        return workspace
    }

    private func load(_ workspace: TemporaryWorkspace, reuse: ParsedFiles?) -> Workspace.Load {
        Workspace(root: workspace.root, envName: nil).load(Environment([:]), reuse: reuse)
    }

    @Test func unchangedFilesAreNotParsedAgainAndGiveTheSameResult() throws {
        let workspace = try workspace()
        let first = load(workspace, reuse: nil)
        #expect(first.parsed.parsedCount == 4)
        let second = load(workspace, reuse: first.parsed)
        #expect(second.parsed.parsedCount == 0)
        #expect(second.state?.servers == first.state?.servers)
        #expect(second.manifests == first.manifests)
        // A broken file keeps reporting its problem from the reused parse.
        #expect(second.diagnostics == first.diagnostics)
        #expect(second.diagnostics.contains { $0.position.file.hasSuffix("servers/broken.yaml") })
        // Without `reuse` (a rescan, SIGHUP) every file is parsed.
        #expect(load(workspace, reuse: second.parsed).parsed.parsedCount == 0)
        #expect(load(workspace, reuse: nil).parsed.parsedCount == 4)
    }

    @Test func aChangedFileIsParsedAgainHoweverItChanged() throws {
        let workspace = try workspace()
        var last = load(workspace, reuse: nil).parsed
        // Another size.
        try workspace.write("servers/a.yaml", manifest("a", "limits: { rps: 3 }"))
        var next = load(workspace, reuse: last)
        #expect(next.parsed.parsedCount == 1)
        #expect(next.state?.servers["a"]?.policies.limits.rps == 3)
        last = next.parsed
        // The same size, written in place: the modification time moves.
        try workspace.write("servers/a.yaml", manifest("a", "limits: { rps: 4 }"))
        next = load(workspace, reuse: last)
        #expect(next.parsed.parsedCount == 1)
        #expect(next.state?.servers["a"]?.policies.limits.rps == 4)
        last = next.parsed
        // Renamed over (a new inode), as editors and ConfigMaps save; with the old file's times.
        let attributes = try FileManager.default.attributesOfItem(atPath: workspace.root + "/servers/b.yaml")
        try workspace.write("servers/.b.tmp", manifest("b", "limits: { rps: 5 }"))
        try FileManager.default.setAttributes(
            [.modificationDate: attributes[.modificationDate] as Any], ofItemAtPath: workspace.root + "/servers/.b.tmp")
        #expect(rename(workspace.root + "/servers/.b.tmp", workspace.root + "/servers/b.yaml") == 0)
        next = load(workspace, reuse: last)
        #expect(next.parsed.parsedCount == 1)
        #expect(next.state?.servers["b"]?.policies.limits.rps == 5)
        // A removed file is gone, a new one parsed.
        try FileManager.default.removeItem(atPath: workspace.root + "/servers/broken.yaml")
        try workspace.write("servers/c.yaml", manifest("c"))
        next = load(workspace, reuse: next.parsed)
        #expect(next.parsed.parsedCount == 1)
        #expect(next.manifestFiles.map { ($0 as NSString).lastPathComponent } == ["a.yaml", "b.yaml", "c.yaml"])
        #expect(next.diagnostics.allSatisfy { !$0.position.file.hasSuffix("broken.yaml") })
    }
}
