import Desired
import Foundation
import Testing

/// The broken-manifest corpus: every file under `Corpus/` names, in `# expect:` header lines,
/// exactly the errors `validate` must report for it (`LINE:COL: key.path: message`).
/// A case under `Corpus/config/` is a config layer; any other is a manifest.
@Suite struct CorpusTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")

    static func cases() -> [String] {
        let fm = FileManager.default
        let manifests = ((try? fm.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".yaml") }
        let configs = ((try? fm.contentsOfDirectory(atPath: directory.path + "/config")) ?? []).filter { $0.hasSuffix(".yaml") }
        return (manifests + configs.map { "config/" + $0 }).sorted()
    }

    @Test func corpusHasAtLeastFortyCases() {
        #expect(Self.cases().count >= 40)
    }

    @Test(arguments: cases())
    func caseProducesExactlyItsExpectedErrors(_ name: String) throws {
        let bytes = Array(try Data(contentsOf: Self.directory.appendingPathComponent(name)))
        let text = String(decoding: bytes, as: UTF8.self)
        let expected = text.split(separator: "\n").prefix { $0.hasPrefix("#") }.compactMap { line -> String? in
            line.hasPrefix("# expect: ") ? String(line.dropFirst("# expect: ".count)) : nil
        }
        #expect(!expected.isEmpty, "a case needs at least one # expect: line")
        let workspace = try TemporaryWorkspace()
        if name.hasPrefix("config/") {
            try Data(bytes).write(to: URL(fileURLWithPath: workspace.root + "/config/default.yaml"))
        } else {
            try workspace.write("config/default.yaml", "")
            try Data(bytes).write(to: URL(fileURLWithPath: workspace.root + "/servers/" + name))
        }
        let load = workspace.load()
        #expect(summaries(load.diagnostics) == expected)
    }
}
