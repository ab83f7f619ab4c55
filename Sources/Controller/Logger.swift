import Actual
import Desired
import Foundation
import Glibc
import JSON
import Metering
import Synchronization

/// One JSON object per line on stdout: `ts`, `level`, `event`, `msg`, and `srv`, `latency_ms`,
/// `trace_id` and other fields where there are some. Every string goes through the redactor.
final class Logger: Sendable {
    typealias Level = ControllerConfig.LogLevel

    private struct State {
        var level: Level
        var redactor: Redactor
    }

    private let state: Mutex<State>
    private let write: @Sendable (String) -> Void

    init(level: Level, write: @escaping @Sendable (String) -> Void = Logger.stdout) {
        state = Mutex(State(level: level, redactor: Redactor()))
        self.write = write
    }

    /// New secrets, and a new level when given (after a reload).
    func configure(level: Level? = nil, secrets: [String]) {
        state.withLock {
            if let level { $0.level = level }
            $0.redactor = Redactor(secrets: secrets)
        }
    }

    func log(
        _ level: Level, _ event: String, _ message: String, server: String? = nil, latency: Duration? = nil,
        fields: [(String, JSONValue)] = []
    ) {
        let (minimum, redactor) = state.withLock { ($0.level, $0.redactor) }
        guard level >= minimum else { return }
        var pairs: [(String, JSONValue)] = [
            ("ts", .string(Logger.timestamp(Date()))), ("level", .string(level.rawValue)), ("event", .string(event)),
        ]
        if let server { pairs.append(("srv", .string(server))) }
        if let latency { pairs.append(("latency_ms", .double((latency.milliseconds * 10).rounded() / 10))) }
        pairs.append(("msg", .string(redactor.redact(message))))
        for (key, value) in fields { pairs.append((key, Logger.redacted(value, redactor))) }
        write(JSONValue.object(pairs).rendered() + "\n")
    }

    /// `text` through the redactor the log lines go through now.
    func redact(_ text: String) -> String {
        state.withLock { $0.redactor }.redact(text)
    }

    static func redacted(_ value: JSONValue, _ redactor: Redactor) -> JSONValue {
        switch value {
        case .string(let text): .string(redactor.redact(text))
        case .array(let items): .array(items.map { redacted($0, redactor) })
        case .object(let pairs): .object(pairs.map { ($0.0, redacted($0.1, redactor)) })
        default: value
        }
    }

    /// RFC 3339 UTC with milliseconds (`2026-12-02T19:28:34.721Z`). Built from `gmtime_r`:
    /// Foundation's ISO 8601 format style cost about 10 µs a call, and every gateway request
    /// stamps a log line and an audit record.
    static func timestamp(_ date: Date) -> String {
        // Whole milliseconds first: `x.999` seconds is stored as `x.99899…`, and the fraction
        // taken apart from the seconds would print `.998`.
        let milliseconds = (date.timeIntervalSince1970 * 1000).rounded(.down)
        let total = milliseconds.magnitude < 1e17 ? Int64(milliseconds) : 0  // NaN and ±inf too
        let (quotient, remainder) = total.quotientAndRemainder(dividingBy: 1000)
        var seconds = time_t(remainder < 0 ? quotient - 1 : quotient)
        let millis = Int(remainder < 0 ? remainder + 1000 : remainder)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(unsafeUninitializedCapacity: 24) { buffer in
            var at = 0
            func put(_ value: Int, _ width: Int) {
                var rest = value
                for offset in stride(from: width - 1, through: 0, by: -1) {
                    buffer[at + offset] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
                at += width
            }
            func put(_ byte: Character) {
                buffer[at] = byte.asciiValue ?? 0x3F
                at += 1
            }
            put(min(max(Int(parts.tm_year) + 1900, 0), 9999), 4)
            put("-")
            put(Int(parts.tm_mon) + 1, 2)
            put("-")
            put(Int(parts.tm_mday), 2)
            put("T")
            put(Int(parts.tm_hour), 2)
            put(":")
            put(Int(parts.tm_min), 2)
            put(":")
            put(Int(parts.tm_sec), 2)
            put(".")
            put(millis, 3)
            put("Z")
            return at
        }
    }

    /// write(2) on descriptor 1, whole lines. Not `FileHandle.write`, which traps on EPIPE: a
    /// log reader that goes away must not take the controller down (SIGPIPE is ignored, so the
    /// write just fails and the line is lost).
    static let stdout: @Sendable (String) -> Void = { line in
        var bytes = Array(line.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(1, $0.baseAddress, $0.count) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { return }
            bytes = bytes.dropFirst(written)
        }
    }
}
