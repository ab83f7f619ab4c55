/// What `controller validate --strict` adds: a warning for every enabled server that is given a
/// long-lived static credential where its provider's identity route would do.
public enum StaticCredentialCheck {
    /// One warning per enabled server (running, or enabled but skipped) whose manifest's
    /// `credentials.replaces` names a variable that is set to a non-empty value. Values are
    /// never quoted.
    public static func warnings(_ state: DesiredState, environment: Environment) -> [Diagnostic] {
        var out: [Diagnostic] = []
        for (name, manifest) in state.manifests.sorted(by: { $0.key < $1.key }) {
            if state.skipped[name] == .disabled { continue }
            guard let route = manifest.credentials else { continue }
            let set = route.staticCredentialsSet(environment)
            guard !set.isEmpty else { continue }
            out.append(
                Diagnostic(
                    .warning, at: route.position, path: "credentials",
                    "\(name) uses the long-lived \(set.joined(separator: ", ")) where \(route.provider) offers \(route.route.label)",
                    hint: route.how))
        }
        return out
    }
}
