import Desired

/// Dispatches `controller <command> …` and turns argument problems into exit status 2.
enum CommandRouter {
    static let usage = """
        usage: controller <command> [options]

        commands:
          run      [--root DIR] [--env NAME] [--listen HOST:PORT]
                   the daemon: watch, reconcile, serve /healthz /readyz /status /metrics /plan
          diff     [--root DIR] [--env NAME] [--against URL] [--all] [--format text|json]
                   what the files would change: planned by a running controller
                   (--against) or against nothing; exit 0 no changes, 1 changes, 2 error
          status   [--url URL]   a running controller's servers, phases, restarts
          health   [--url URL]   /readyz as an exit status (0 ready)
          validate [--root DIR] [--env NAME] [--format text|json|github] [--strict]
                   validate config layers and every manifest; exit 0 valid, 1 invalid;
                   --strict also warns about long-lived credentials where the provider
                   offers workload identity or OIDC (warnings never change the exit status)
          schema   [--kind manifest|config]
                   print the JSON Schema (2020-12) of manifests or config layers
          matrix   [--root DIR] [--env NAME]
                   print the capability matrix of servers/ as Markdown

        Run `controller <command> --help` for a command's options.
        """

    static func run(_ arguments: [String]) -> Int32 {
        guard let command = arguments.first else {
            Output.error(usage)
            return 2
        }
        var rest = Arguments(Array(arguments.dropFirst()))
        if rest.wantsHelp() || command == "help" || command == "--help" {
            Output.print(usage)
            return 0
        }
        do {
            switch command {
            case "validate": return try ValidateCommand.run(&rest)
            case "schema": return try SchemaCommand.run(&rest)
            case "matrix": return try MatrixCommand.run(&rest)
            default:
                Output.error("controller: unknown command \"\(command)\"\n\n\(usage)")
                return 2
            }
        } catch {
            Output.error("controller \(command): \(error)")
            return 2
        }
    }

    /// The workspace named by `--root` (default `.`) and `--env` (default `$OMNI_ENV`, which
    /// `Workspace` reads from the environment or `.env`).
    static func workspace(_ arguments: inout Arguments) throws(Arguments.Problem) -> Workspace {
        Workspace(root: try arguments.option("--root") ?? ".", envName: try arguments.option("--env"))
    }
}
