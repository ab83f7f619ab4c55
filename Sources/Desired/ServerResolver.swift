/// Turns one enabled manifest into a `ServerSpec` against the config's defaults and the environment.
enum ServerResolver {
    enum Outcome {
        case ready(ServerSpec)
        case skipped(SkipReason, [Diagnostic])
    }

    /// - Parameter policies: the manifest's policies with `defaults:` filled in (the caller has
    ///   merged them already to check the cross-field rules).
    static func resolve(_ manifest: Manifest, policies: Policies, isolation: Isolation = .none, environment: Environment) -> Outcome {
        var missing: [String] = []
        var secretValues: [String] = []
        for name in manifest.secrets {
            if let value = environment[name], !value.isEmpty {
                secretValues.append(value)
            } else {
                missing.append(name)
            }
        }
        func resolve(_ text: Manifest.Text) -> String {
            switch text.interpolation.resolve(environment) {
            case .success(let value): return value
            case .failure(let absent):
                missing += absent.names
                return ""
            }
        }
        let command = manifest.command.map(resolve)
        let url = manifest.url.map(resolve)
        let cwd = manifest.cwd.map(resolve)
        var env: [String: String] = [:]
        for variable in manifest.env { env[variable.name] = resolve(variable.value) }
        if let route = manifest.credentials, route.isInUse(environment) {
            // The identity route stands in for the long-lived variables it replaces.
            missing.removeAll { route.replaces.contains($0) }
        }
        if !missing.isEmpty {
            var unique: [String] = []
            for name in missing where !unique.contains(name) { unique.append(name) }
            return .skipped(.missing(unique), [])
        }
        if let url, let text = manifest.url, StringFormat.url.check(url) != nil {
            let why = "url resolves to \"\(url)\", which is not an http(s) URL"
            return .skipped(.invalid(why), [Diagnostic(at: text.position, path: "url", why)])
        }
        return .ready(
            ServerSpec(
                manifest: manifest, command: command, url: url, cwd: cwd, env: env, secretValues: secretValues,
                policies: policies, isolation: isolation))
    }
}
