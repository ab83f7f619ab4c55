import Foundation
import Testing

@Suite struct ValidateCommandTests {
    @Test func theRepositoryItselfIsValidInEveryEnvironment() throws {
        for env in ["", "development", "production", "test"] {
            let outcome = try ControllerProcess.run(["validate"] + (env.isEmpty ? [] : ["--env", env]))
            #expect(outcome.status == 0, "\(env): \(outcome.stdout)")
            #expect(outcome.stdout.contains("0 errors"))
        }
    }

    @Test func enablingAServerTakesOnlyTheEnvironment() throws {
        let off = try ControllerProcess.run(["validate"])
        #expect(off.stdout.contains("will run (0): none"))
        let on = try ControllerProcess.run(["validate"], environment: ["OMNI_FEATURE_TIME": "true"])
        #expect(on.stdout.contains("will run (1): time"))
        let missing = try ControllerProcess.run(["validate"], environment: ["OMNI_FEATURE_GITHUB": "true"])
        #expect(missing.stdout.contains("skipped, missing GITHUB_TOKEN (1): github"))
        let github = try ControllerProcess.run(["validate"], environment: ["OMNI_FEATURE_GITHUB": "true", "GITHUB_TOKEN": "x"])
        #expect(github.stdout.contains("will run (1): github"))
    }

    /// A new user's root: one server, an empty `.env.example`, a shell with none of the
    /// controller's variables. The built-in defaults impose nothing; the user's own `${FOO}` does,
    /// at the line that reads it.
    @Test func aMinimalRootValidatesAndOnlyItsOwnVariablesMustBeListed() throws {
        let scratch = try Scratch()
        try scratch.write(".env.example", "")
        try scratch.write("config/default.yaml", "features: { x: { enabled: true } }\n")
        let server = "name: x\ndescription: x\ntransport: stdio\ncommand: [mcp-demo]\n"
        try scratch.write("servers/x.yaml", server)
        for env in [[], ["--env", "other"]] {
            if !env.isEmpty { try scratch.write("config/other.yaml", "log: { level: debug }\n") }
            let outcome = try ControllerProcess.run(["validate", "--root", scratch.root] + env)
            #expect(outcome.status == 0, "\(env): \(outcome.stdout)")
            #expect(outcome.stdout.contains("will run (1): x"))
        }
        try scratch.write("servers/x.yaml", server + "env: { A: \"${FOO}\" }\n")
        let outcome = try ControllerProcess.run(["validate", "--root", scratch.root])
        #expect(outcome.status == 1)
        #expect(outcome.stdout.contains("\(scratch.root)/servers/x.yaml:5:11: error: variable FOO is not listed in "), "\(outcome.stdout)")
        #expect(!outcome.stdout.contains("OMNI_API_TOKENS"))
    }

    @Test func textOutputPointsAtTheLineWithACaret() throws {
        let scratch = try Scratch()
        try scratch.write("servers/demo.yaml", "name: demo\ndescription: d\ntransport: stdio\ncommand: [x]\nlimits: { rps: fast }\n")
        let outcome = try ControllerProcess.run(["validate", "--root", scratch.root])
        #expect(outcome.status == 1)
        #expect(
            outcome.stdout.contains(
                """
                \(scratch.root)/servers/demo.yaml:5:16: error: limits.rps: expected a number, got text "fast"
                 5 | limits: { rps: fast }
                   |                ^
                """))
        #expect(outcome.stdout.hasSuffix("invalid: 1 file checked (1 manifest, 0 config layers); 1 error, 0 warnings\n"))
    }

    @Test func jsonOutputIsMachineReadable() throws {
        let scratch = try Scratch()
        try scratch.write("servers/a.yaml", "name: a\ndescription: d\ntransport: stdio\ncommand: [x]\nenv: { T: \"${A_TOKEN}\" }\n")
        try scratch.write("servers/b.yaml", "name: b\n")
        let outcome = try ControllerProcess.run(["validate", "--root", scratch.root, "--format", "json"])
        #expect(outcome.status == 1)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        #expect(json["valid"] as? Bool == false)
        #expect(json["errors"] as? Int == 3)
        let diagnostics = try #require(json["diagnostics"] as? [[String: Any]])
        let messages = diagnostics.map { "\($0["line"] ?? ""):\($0["column"] ?? "") \($0["path"] ?? "") \($0["message"] ?? "")" }
        #expect(messages.contains("1:1 description is required"))
        #expect(messages.contains("1:1 transport is required"))
        #expect(messages.contains("5:11  variable A_TOKEN is not listed in \(scratch.root)/.env.example"))
        let servers = try #require(json["servers"] as? [[String: Any]])
        #expect(servers.map { $0["name"] as? String } == ["a"])
        #expect(servers.first?["reason"] as? String == "disabled")
    }

    @Test func githubFormatWritesWorkflowAnnotations() throws {
        let scratch = try Scratch()
        try scratch.write("servers/demo.yaml", "name: demo\ndescription: d\ntransport: stdoi\ncommand: [x]\n")
        let outcome = try ControllerProcess.run(["validate", "--root", scratch.root, "--format", "github"])
        #expect(outcome.status == 1)
        let file = scratch.root.replacingOccurrences(of: ":", with: "%3A") + "/servers/demo.yaml"
        #expect(
            outcome.stdout.hasPrefix(
                "::error file=\(file),line=3,col=12,title=transport::\"stdoi\" is not one of \"stdio\", \"http\" (hint: did you mean \"stdio\"?)\n"
            ))
    }

    @Test func badArgumentsExitTwoWithAMessage() throws {
        let unknown = try ControllerProcess.run(["validate", "--frmat", "json"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("unknown option --frmat"))
        let badChoice = try ControllerProcess.run(["validate", "--format", "xml"])
        #expect(badChoice.status == 2)
        #expect(badChoice.stderr.contains("--format must be one of text, json, github"))
        let noCommand = try ControllerProcess.run([])
        #expect(noCommand.status == 2)
        let unknownCommand = try ControllerProcess.run(["frobnicate"])
        #expect(unknownCommand.status == 2)
        let help = try ControllerProcess.run(["validate", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("usage: controller"))
    }

    @Test func anUnknownEnvironmentLayerFails() throws {
        let outcome = try ControllerProcess.run(["validate", "--env", "staging"])
        #expect(outcome.status == 1)
        #expect(outcome.stdout.contains("no config layer \"staging\""))
    }

    @Test func dotEnvIsReadButTheRealEnvironmentWins() throws {
        let scratch = try Scratch()
        try scratch.write("servers/a.yaml", "name: a\ndescription: d\ntransport: stdio\ncommand: [x]\n")
        try scratch.write(".env", "OMNI_FEATURE_A=true\n")
        let fromFile = try ControllerProcess.run(["validate", "--root", scratch.root])
        #expect(fromFile.stdout.contains("will run (1): a"))
        let overridden = try ControllerProcess.run(["validate", "--root", scratch.root], environment: ["OMNI_FEATURE_A": "false"])
        #expect(overridden.stdout.contains("will run (0): none"))
    }

    @Test func garbageFilesNeverCrashTheValidator() throws {
        let scratch = try Scratch()
        var generator = SystemRandomNumberGenerator()
        for index in 0..<20 {
            let bytes = (0..<512).map { _ in UInt8.random(in: 0...255, using: &generator) }
            try Data(bytes).write(to: URL(fileURLWithPath: "\(scratch.root)/servers/g\(index).yaml"))
        }
        try scratch.write("servers/ok.yaml", "name: ok\ndescription: d\ntransport: stdio\ncommand: [x]\n")
        let outcome = try ControllerProcess.run(["validate", "--root", scratch.root, "--format", "json"])
        #expect(outcome.status == 1)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        #expect((json["servers"] as? [[String: Any]])?.map { $0["name"] as? String } == ["ok"])
        #expect((json["errors"] as? Int ?? 0) >= 20)
    }
}

@Suite struct GeneratedArtefactTests {
    private func committed(_ path: String) throws -> String {
        String(decoding: try Data(contentsOf: URL(fileURLWithPath: ControllerProcess.root + "/" + path)), as: UTF8.self)
    }

    @Test func docsServersMatchesTheMatrix() throws {
        let outcome = try ControllerProcess.run(["matrix"])
        #expect(outcome.status == 0)
        #expect(outcome.stdout == (try committed("docs/servers.md")), "docs/servers.md is stale: run make docs")
    }

    @Test func publishedSchemasMatchTheValidator() throws {
        for kind in ["manifest", "config"] {
            let outcome = try ControllerProcess.run(["schema", "--kind", kind])
            #expect(outcome.status == 0)
            #expect(outcome.stdout == (try committed("schema/\(kind).schema.json")), "schema/\(kind).schema.json is stale: run make docs")
        }
    }

    @Test func everyManifestPointsEditorsAtTheSchema() throws {
        let directory = ControllerProcess.root + "/servers"
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".yaml") }
        #expect(names.count >= 24)
        for name in names {
            let first = try committed("servers/" + name).split(separator: "\n").first
            #expect(first == "# yaml-language-server: $schema=../schema/manifest.schema.json", "\(name)")
        }
    }

    @Test func matrixListsEveryServer() throws {
        let outcome = try ControllerProcess.run(["matrix"])
        #expect(outcome.stdout.split(separator: "\n").filter { $0.hasPrefix("| [") }.count >= 24)
    }
}

@Suite struct DeploymentManifestTests {
    /// The kustomize ConfigMap lists server files one by one; a new manifest must be added there too.
    @Test func kustomizationShipsEveryServerManifest() throws {
        let kustomization = String(
            decoding: try Data(contentsOf: URL(fileURLWithPath: ControllerProcess.root + "/manifests/kubernetes/kustomization.yaml")),
            as: UTF8.self)
        let names = try FileManager.default.contentsOfDirectory(atPath: ControllerProcess.root + "/servers").filter {
            $0.hasSuffix(".yaml")
        }
        for name in names {
            #expect(kustomization.contains("- ../../servers/\(name)\n"), "\(name) missing from manifests/kubernetes/kustomization.yaml")
        }
    }
}

/// `controller validate --strict` on the repository's own catalogue: the aws server given
/// static keys is warned about (once, pointing at its `credentials:`), the exit status stays 0,
/// and the identity route instead of keys is not warned about.
@Suite struct ValidateStrictTests {
    @Test func strictWarnsAboutStaticKeysWhereAnIdentityRouteExists() throws {
        let keys = ["OMNI_FEATURE_AWS": "true", "AWS_ACCESS_KEY_ID": "AKIA-not-a-real-key", "AWS_SECRET_ACCESS_KEY": "s3cr3t-value"]
        let plain = try ControllerProcess.run(["validate"], environment: keys)
        #expect(plain.status == 0)
        #expect(!plain.stdout.contains("warning: credentials"))
        let strict = try ControllerProcess.run(["validate", "--strict"], environment: keys)
        let lines = try String(contentsOfFile: ControllerProcess.root + "/servers/aws.yaml", encoding: .utf8).split(
            separator: "\n", omittingEmptySubsequences: false)
        let line = try #require(lines.firstIndex { $0 == "  provider: aws" }) + 1
        #expect(strict.status == 0, "\(strict.stdout)")
        #expect(
            strict.stdout.contains(
                "servers/aws.yaml:\(line):3: warning: credentials: aws uses the long-lived AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY where aws offers workload identity"
            ), "\(strict.stdout)")
        #expect(strict.stdout.contains("= hint: IRSA:"))
        #expect(strict.stdout.contains("0 errors, 1 warning"))
        #expect(!strict.stdout.contains("s3cr3t-value"))
        let github = try ControllerProcess.run(["validate", "--strict", "--format", "github"], environment: keys)
        #expect(github.stdout.contains("::warning file="), "\(github.stdout)")
        let route = try ControllerProcess.run(
            ["validate", "--strict"],
            environment: [
                "OMNI_FEATURE_AWS": "true", "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/mcp",
                "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/token",
            ])
        #expect(route.status == 0)
        #expect(route.stdout.contains("will run (1): aws"), "\(route.stdout)")
        #expect(route.stdout.contains("0 errors, 0 warnings"))
    }

    @Test func theMatrixShowsScopesAndThePreferredRoute() throws {
        let matrix = try ControllerProcess.run(["matrix"])
        #expect(matrix.status == 0)
        let aws = try #require(matrix.stdout.split(separator: "\n").first { $0.hasPrefix("| [aws]") })
        #expect(aws.contains("`ReadOnlyAccess`"))
        #expect(aws.contains("workload identity (aws): IRSA"))
        #expect(aws.contains("replaces `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`"))
        let gdrive = try #require(matrix.stdout.split(separator: "\n").first { $0.hasPrefix("| [gdrive]") })
        #expect(gdrive.contains("none usable (gcp)"))
    }
}
