import Desired

/// `controller matrix`: the capability matrix of `servers/` (what `docs/servers.md` holds).
enum MatrixCommand {
    static func run(_ arguments: inout Arguments) throws(Arguments.Problem) -> Int32 {
        let root = try arguments.option("--root") ?? "."
        let envOption = try arguments.option("--env")
        try arguments.finish()
        let process = Environment.process()
        let (environment, _) = Workspace(root: root, envName: nil).environment(process)
        let load = Workspace(root: root, envName: envOption ?? environment["OMNI_ENV"]).load(process)
        guard let config = load.state?.config else {
            Output.error("controller matrix: the config is invalid; run controller validate")
            return 1
        }
        Output.print(CapabilityMatrix.markdown(load.manifests, defaults: config.defaults).trimmingSuffixNewline())
        return load.diagnostics.hasErrors ? 1 : 0
    }
}

extension String {
    func trimmingSuffixNewline() -> String { hasSuffix("\n") ? String(dropLast()) : self }
}
