import Glibc

// mcp-demo: the quickstart's demo MCP server and the test suite's fault injector.
// Newline-delimited JSON-RPC on stdin/stdout; diagnostics on stderr.
let commandLine = Array(CommandLine.arguments.dropFirst())
if commandLine.first == Grandchild.modeFlag {
    Grandchild.runForever()
}
if commandLine.first == Escapee.modeFlag {
    Escapee.run(role: commandLine.dropFirst().first ?? "final")
}

let options: DemoOptions
do {
    switch try DemoOptions.parse(commandLine + EnvironmentFlags.read()) {
    case .help:
        FileDescriptorIO.writeAll(1, Array((DemoOptions.usage + "\n").utf8))
        exit(0)
    case .serve(let parsed):
        options = parsed
    }
} catch {
    StandardError.log("\(error) (see --help)")
    exit(2)
}

// A client that closes our stdout shows up as a failed write (handled there), not as SIGPIPE.
signal(SIGPIPE, SIG_IGN)
let output = OutputChannel(exitAfterResponses: options.exitAfterRequests, exitCode: options.exitCode)
StartupFaults.apply(options, output: output)
let server = DemoServer(options: options, output: output)
StdinLines.readUntilEndOfFile { server.receive(line: $0) }
server.shutdown()
