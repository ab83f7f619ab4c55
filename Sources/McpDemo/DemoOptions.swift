/// What `--garbage` writes instead of a response.
enum GarbageKind: String, Sendable, CaseIterable {
    /// A line that is not JSON at all.
    case text
    /// A valid JSON object that is not JSON-RPC: `{"hello":"world"}`.
    case json
}

/// Everything the command line (plus `MCP_DEMO_FLAGS`) can set. See `usage` for semantics.
struct DemoOptions: Sendable {
    var era = EraMode.dual
    var name = "mcp-demo"
    var exitAfterRequests: Int?
    var exitAfterMilliseconds: Int?
    var exitCode: Int32 = 1
    var slowStartMilliseconds = 0
    var noHandshake = false
    var hangMethods: Set<String> = []
    var garbage: GarbageKind?
    var hugeLineBytes: Int?
    var faultAfter = 0
    var floodStderrLines = 0
    var stderrEveryRequest = false
    var askRoots = false
    var ignoreSigterm = false
    var forkGrandchild = false
    var escape: Escapee.Mode?
    var leaveGroup = false

    /// A flag the parser refused; printed to stderr, exit status 2.
    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    /// What the arguments asked for.
    enum Command {
        case serve(DemoOptions)
        case help
    }

    static let usage = """
        usage: mcp-demo [flags]    MCP stdio server (tools: echo, add, sleep, clock); flags are also read
                                   from $MCP_DEMO_FLAGS (whitespace-separated, appended after argv)

          --era dual|legacy|modern   eras served (default dual): dual = server/discover + 2026-07-28 _meta
                                     requests and the initialize handshake; legacy = handshake only;
                                     modern = 2026-07-28 only (initialize gets -32022, ping -32601)
          --name NAME                serverInfo.name (default mcp-demo)
          --ask-roots                add a tool `roots` that asks the client for its roots (roots/list,
                                     a server-to-client request; handshake era only) and returns them

        fault injection:
          --exit-after-requests N    exit right after the Nth response line (N >= 1; every response
                                     counts, errors and faulty replacements too; notifications do not)
          --exit-after-ms T          exit T ms after start
          --exit-code C              exit status for the two flags above (0-255, default 1)
          --slow-start-ms T          wait T ms before reading stdin
          --no-handshake             read and silently drop server/discover and initialize requests
          --hang METHOD              read and silently drop requests of METHOD (repeatable)
          --garbage text|json        answer each request with a non-JSON line (text) or with
                                     {"hello":"world"} (json) instead of the real response
          --huge-line BYTES          answer each request with one line of exactly BYTES bytes plus the
                                     newline: a JSON-RPC response with the request's id whose result
                                     is {"filler":"xxx…"}, or only x's when BYTES is too small for that
          --fault-after N            --hang, --garbage and --huge-line apply only once N requests have
                                     been answered normally (default 0)
          --flood-stderr N           write N lines to stderr at start, before reading stdin
          --stderr-every-request     log "mcp-demo: <method>" to stderr for every request read, with
                                     " traceparent=<value>" when its params._meta has one
          --ignore-sigterm           ignore SIGTERM
          --fork-grandchild          spawn a grandchild in the same process group that ignores SIGTERM
                                     and sleeps forever (stdio on /dev/null); logs its pid to stderr
          --escape setsid|double-fork|setpgid
                                     start a descendant that leaves the process group (a child in a
                                     new session; a new-session grandchild whose parent exits, keeping
                                     stdio; a child in a new group), ignores SIGTERM and sleeps
                                     forever; logs "escapee pid N" to stderr
          --leave-group              at start, try to move this process into its parent's process
                                     group (setpgid); logs the outcome to stderr
          --help                     this text

        Single-valued flags may repeat (the last wins); --flag=VALUE also works. A bad flag exits 2.
        Stdin EOF: in-flight sleep calls are cancelled (no response) and the process exits 0.
        """

    /// Parses `arguments` (argv without the program name, then the environment's flags).
    static func parse(_ arguments: [String]) throws(Problem) -> Command {
        var options = DemoOptions()
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            var flag = argument
            var inlineValue: String?
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                flag = String(argument[..<equals])
                inlineValue = String(argument[argument.index(after: equals)...])
            }
            func value() throws(Problem) -> String {
                if let inlineValue { return inlineValue }
                guard let next = remaining.popFirst() else { throw Problem(description: "\(flag) needs a value") }
                return next
            }
            func number(_ range: ClosedRange<Int>) throws(Problem) -> Int {
                let text = try value()
                guard text.allSatisfy(\.isASCII), let parsed = Int(text), range.contains(parsed), !text.hasPrefix("+") else {
                    throw Problem(description: "\(flag) needs an integer from \(range.lowerBound) to \(range.upperBound), not \"\(text)\"")
                }
                return parsed
            }
            let isSwitch = [
                "--no-handshake", "--stderr-every-request", "--ignore-sigterm", "--fork-grandchild", "--leave-group", "--help", "-h",
            ]
            .contains(flag)
            if isSwitch, inlineValue != nil { throw Problem(description: "\(flag) takes no value") }
            switch flag {
            case "--help", "-h": return .help
            case "--era":
                let text = try value()
                guard let era = EraMode(rawValue: text) else {
                    throw Problem(description: "--era must be one of dual, legacy, modern, not \"\(text)\"")
                }
                options.era = era
            case "--name":
                let text = try value()
                guard !text.isEmpty else { throw Problem(description: "--name must not be empty") }
                options.name = text
            case "--exit-after-requests": options.exitAfterRequests = try number(1...Int(Int32.max))
            case "--exit-after-ms": options.exitAfterMilliseconds = try number(0...Int(Int32.max))
            case "--exit-code": options.exitCode = Int32(try number(0...255))
            case "--slow-start-ms": options.slowStartMilliseconds = try number(0...Int(Int32.max))
            case "--no-handshake": options.noHandshake = true
            case "--hang":
                let method = try value()
                guard !method.isEmpty else { throw Problem(description: "--hang needs a method name") }
                options.hangMethods.insert(method)
            case "--garbage":
                let text = try value()
                guard let kind = GarbageKind(rawValue: text) else {
                    throw Problem(description: "--garbage must be text or json, not \"\(text)\"")
                }
                options.garbage = kind
            case "--huge-line": options.hugeLineBytes = try number(1...(1 << 40))
            case "--fault-after": options.faultAfter = try number(0...Int(Int32.max))
            case "--flood-stderr": options.floodStderrLines = try number(0...Int(Int32.max))
            case "--stderr-every-request": options.stderrEveryRequest = true
            case "--ask-roots": options.askRoots = true
            case "--ignore-sigterm": options.ignoreSigterm = true
            case "--fork-grandchild": options.forkGrandchild = true
            case "--leave-group": options.leaveGroup = true
            case "--escape":
                let text = try value()
                guard let mode = Escapee.Mode(rawValue: text) else {
                    throw Problem(description: "--escape must be one of setsid, double-fork, setpgid, not \"\(text)\"")
                }
                options.escape = mode
            default:
                throw Problem(description: argument.hasPrefix("-") ? "unknown flag \(flag)" : "unexpected argument \"\(argument)\"")
            }
        }
        // Both would replace the same response line; refusing beats silently picking one.
        if options.garbage != nil, options.hugeLineBytes != nil {
            throw Problem(description: "--garbage and --huge-line cannot be combined")
        }
        return .serve(options)
    }
}
