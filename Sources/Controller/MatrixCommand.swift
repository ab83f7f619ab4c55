import Desired

/// `controller matrix`: the capability matrix of `servers/` (what `docs/servers.md` holds).
enum MatrixCommand {
    static func run(_ arguments: inout Arguments) throws(Arguments.Problem) -> Int32 {
        let workspace = try CommandRouter.workspace(&arguments)
        try arguments.finish()
        let load = workspace.load(Environment.process())
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
