/// The rule that `.env.example` documents every variable the user's own files read.
public enum EnvExample {
    /// One error per variable that a manifest or a config file of the user's reads and
    /// `.env.example` does not list (as `NAME=` on a line of its own), at the first place it is
    /// used. Variables named only by the controller's built-in defaults (`OMNI_API_TOKENS` as
    /// `auth.tokens_env`, `OMNI_ENV`, `OMNI_FEATURE_*`) are the controller's own and impose
    /// nothing on a user's repository.
    public static func undocumented(_ load: Workspace.Load, workspace: Workspace) -> [Diagnostic] {
        let path = workspace.display(".env.example")
        var used: [(String, SourcePosition)] = load.manifests.flatMap(\.variables)
        if let config = load.state?.config {
            if config.tokensEnvPosition.file != BuiltinConfig.file { used.append((config.tokensEnv, config.tokensEnvPosition)) }
            used += config.variables.filter { $0.position.file != BuiltinConfig.file }.map { ($0.name, $0.position) }
        }
        guard let text = try? workspace.readText(".env.example") else {
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
