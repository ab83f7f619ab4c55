import Desired

/// The exact environment a server's process gets: a small baseline taken from the controller's
/// environment, then the manifest's resolved `env:` on top, then the egress proxy's variables
/// (an instance cannot opt out of the proxy by setting its own `HTTPS_PROXY`).
///
/// Never the controller's whole environment: it holds every server's secrets, and one server
/// must not see another's.
enum ChildEnvironment {
    /// Variables a process needs to behave normally, copied when the controller has them.
    static let baseline = ["PATH", "HOME", "LANG", "TMPDIR"]
    /// Used when the controller itself has no `PATH`.
    static let defaultPath = "/usr/local/bin:/usr/bin:/bin"

    static func build(spec env: [String: String], controller: Environment, egress: [String: String] = [:]) -> [String: String] {
        var result: [String: String] = [:]
        for name in baseline {
            if let value = controller[name], !value.isEmpty { result[name] = value }
        }
        if result["PATH"] == nil { result["PATH"] = defaultPath }
        result.merge(env) { _, manifest in manifest }
        result.merge(egress) { _, proxy in proxy }
        return result
    }

    /// `NAME=value` strings in a stable order, for `execve`.
    static func entries(_ environment: [String: String]) -> [String] {
        environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    }
}
