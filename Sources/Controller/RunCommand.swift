import Desired
import Foundation
import Glibc

/// `controller run [--root DIR] [--env NAME] [--listen HOST:PORT]`: the daemon, until SIGTERM or
/// SIGINT (graceful: stop accepting, stop every server, exit 0); a second signal stops at once.
/// SIGHUP reloads the files.
enum RunCommand {
    static var help: String {
        """
        usage: controller run [--root DIR] [--env NAME] [--listen HOST:PORT]

        Runs the controller: watches servers/ and config/, keeps the servers running as they
        say, and serves /healthz, /readyz, /status and /metrics on the listen address.
        SIGTERM or SIGINT stops every server and exits 0; a second signal exits at once.
        SIGHUP re-reads the files.

        Without --listen: OMNI_LISTEN, else the config's listen: (built in: \(ListenAddress.builtin)).
        Off loopback, the variable auth.tokens_env names (OMNI_API_TOKENS) must hold a token.
        State (process ledger, session key, ended sessions; the audit log unless audit.path
        says otherwise) is written under <root>/var and nowhere else.
        """
    }

    static func run(_ arguments: [String]) async -> Int32 {
        var arguments = Arguments(arguments)
        if arguments.wantsHelp() {
            Output.print(help)
            return 0
        }
        let workspace: Workspace
        let listen: String?
        do {
            workspace = try CommandRouter.workspace(&arguments)
            listen = try arguments.option("--listen")
            try arguments.finish()
        } catch {
            Output.error("controller run: \(error)\n\n\(help)")
            return 2
        }
        let daemon = Daemon(workspace: workspace, process: Environment.process(), listen: listen)
        // Before anything starts: a signal during the start is kept for the loop below.
        guard let signals = ControllerSignals.take() else {
            Output.error("controller run: cannot install signal handlers: \(String(cString: strerror(errno)))")
            return 1
        }
        if let status = await daemon.start() { return status }
        var stopping = false
        for await number in signals.stream {
            if number == SIGHUP {
                await daemon.reloadFiles(cause: "SIGHUP", full: true)
                continue
            }
            if stopping {
                // A second signal: stop waiting; the servers die with us (PDEATHSIG).
                Output.error("controller: second signal, exiting now")
                return 1
            }
            stopping = true
            let name = number == SIGTERM ? "SIGTERM" : "SIGINT"
            Task {
                await daemon.shutdown(reason: name)
                signals.finish()
            }
        }
        return 0
    }
}
