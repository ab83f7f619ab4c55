import Synchronization

/// Turns request outcomes into stdout lines, applying the response faults
/// (`--hang`, `--garbage`, `--huge-line`) once `--fault-after` normal answers have gone out.
final class Responder: Sendable {
    static let garbageText = "mcp-demo garbage: this line is not JSON"
    static let garbageJSON: JSONValue = .object([("hello", .string("world"))])

    private let output: OutputChannel
    private let garbage: GarbageKind?
    private let hugeLineBytes: Int?
    private let hangMethods: Set<String>
    private let faultAfter: Int
    private let normalAnswers = Mutex(0)

    init(output: OutputChannel, options: DemoOptions) {
        self.output = output
        garbage = options.garbage
        hugeLineBytes = options.hugeLineBytes
        hangMethods = options.hangMethods
        faultAfter = options.faultAfter
    }

    /// Whether a request of `method` arriving now must never be answered (`--hang`, active).
    func shouldHang(_ method: String) -> Bool {
        hangMethods.contains(method) && normalAnswers.withLock { $0 >= faultAfter }
    }

    /// Answers request `id`: the real response, or its faulty replacement when a response
    /// fault is active. Real answers advance the `--fault-after` count.
    func respond(to id: RequestID, _ outcome: Result<JSONValue, RPCError>) {
        let hasResponseFault = garbage != nil || hugeLineBytes != nil
        // Decide and count in one step, so concurrent answers cannot overshoot --fault-after.
        let faulty = normalAnswers.withLock { answered in
            if hasResponseFault && answered >= faultAfter { return true }
            answered += 1
            return false
        }
        let line: OutputChannel.Line
        if faulty, let garbage {
            line = .bytes(garbage == .text ? Array(Self.garbageText.utf8) : Self.garbageJSON.encoded())
        } else if faulty, let hugeLineBytes {
            line = Self.hugeLine(id: id, bytes: hugeLineBytes)
        } else {
            line = .bytes(Self.frame(id: id, outcome).encoded())
        }
        output.send(response: line)
    }

    /// Answers a line that was not a usable request (-32700, -32600): never faulted, never
    /// counted as a normal answer, but it is a response line for `--exit-after-requests`.
    func reject(id: RequestID?, _ error: RPCError) {
        output.send(response: .bytes(Frame.error(id: id, error).encoded()))
    }

    private static func frame(id: RequestID, _ outcome: Result<JSONValue, RPCError>) -> JSONValue {
        switch outcome {
        case .success(let result): Frame.result(id: id, result)
        case .failure(let error): Frame.error(id: id, error)
        }
    }

    /// A complete JSON-RPC response for `id` whose result holds one long string, padded so the
    /// line is exactly `bytes` long (newline excluded); below the envelope's size, plain filler.
    private static func hugeLine(id: RequestID, bytes: Int) -> OutputChannel.Line {
        let envelope = Frame.result(id: id, .object([("filler", .string(""))])).encoded()
        // The envelope ends with `""}}`: split it so the filler goes between the two quotes.
        let prefix = Array(envelope.dropLast(3))
        let suffix = Array(envelope.suffix(3))
        guard bytes >= envelope.count else { return .padded(prefix: [], fill: UInt8(ascii: "x"), fillCount: bytes, suffix: []) }
        return .padded(prefix: prefix, fill: UInt8(ascii: "x"), fillCount: bytes - envelope.count, suffix: suffix)
    }
}
