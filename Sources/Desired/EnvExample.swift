/// The rule that `.env.example` documents every variable anything reads.
public enum EnvExample {
    /// One error per variable that a manifest or the config reads and `.env.example` does not
    /// list (as `NAME=` on a line of its own), at the first place it is used.
    public static func undocumented(_ load: Workspace.Load, workspace: Workspace) -> [Diagnostic] {
        let path = workspace.display(".env.example")
        var used: [(String, SourcePosition)] = load.manifests.flatMap(\.variables)
        if let config = load.state?.config {
            used.append((config.tokensEnv, .origin(workspace.display("config"))))
            used += config.variables.map { ($0.name, $0.position) }
        }
        guard let text = try? workspace.readText(path) else {
            return [Diagnostic(at: .origin(path), "missing: every variable the manifests and config read must be listed here")]
        }
        let (file, problems) = DotEnvFile.parse(text, file: path)
        var reported = Set<String>()
        var out = problems
        for (name, position) in used where file.lines[name] == nil && reported.insert(name).inserted {
            out.append(
                Diagnostic(
                    at: position, "variable \(name) is not listed in \(path)",
                    hint: "add a commented line \"\(name)=\" to \(path) saying what it is"))
        }
        return out
    }
}
