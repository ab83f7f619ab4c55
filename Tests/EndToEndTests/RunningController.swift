import Foundation
import Glibc
import Synchronization

/// `controller run` as a real child process: its JSON log lines collected as they come, its
/// admin API reached with curl.
final class RunningController: @unchecked Sendable {
    let process = Process()
    let port: Int
    private let lines = Mutex<[String]>([])
    private let arrived = NSCondition()
    /// Set when the output reached end of file (the process and its children closed it).
    private let ended = Mutex(false)

    /// `wrapper`: a command that execs its last argument with the rest (the controller and its
    /// arguments follow it), e.g. to run the controller where namespaces are not permitted.
    init(root: String, environment: [String: String] = [:], extra: [String] = [], wrapper: [String] = []) throws {
        port = RunningController.freePort()
        let arguments = ["run", "--root", root, "--listen", "127.0.0.1:\(port)"] + extra
        process.executableURL = URL(fileURLWithPath: wrapper.first ?? ControllerProcess.binary)
        process.arguments = wrapper.isEmpty ? arguments : Array(wrapper.dropFirst()) + [ControllerProcess.binary] + arguments
        process.environment = environment.merging(
            ["PATH": ControllerProcess.root + "/.build/debug:/usr/bin:/bin"].merging(ControllerProcess.profile) { a, _ in a }
        ) { a, _ in a }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let handle = out.fileHandleForReading
        Thread.detachNewThread { [self] in
            var partial = ""
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                partial += String(decoding: data, as: UTF8.self)
                while let newline = partial.firstIndex(of: "\n") {
                    let line = String(partial[..<newline])
                    partial = String(partial[partial.index(after: newline)...])
                    // Under the condition's lock: a waiter between its check and its wait would
                    // otherwise miss this wake-up and sleep until its timeout.
                    arrived.lock()
                    lines.withLock { $0.append(line) }
                    arrived.broadcast()
                    arrived.unlock()
                }
            }
            arrived.lock()
            ended.withLock { $0 = true }
            arrived.broadcast()
            arrived.unlock()
        }
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    var log: [String] { lines.withLock { $0 } }

    /// Parsed log records.
    var records: [[String: Any]] {
        log.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// Waits (up to `timeout`) for a log record matching `match`; returns it.
    @discardableResult
    func waitForLog(timeout: TimeInterval = 20, _ match: ([String: Any]) -> Bool) -> [String: Any]? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        arrived.lock()
        defer { arrived.unlock() }
        while true {
            if let found = records.first(where: match) { return found }
            guard arrived.wait(until: deadline) else { return records.first(where: match) }
        }
    }

    /// Records with this `event`.
    func events(_ name: String) -> [[String: Any]] { records.filter { $0["event"] as? String == name } }

    /// GET with curl: status code and body. `token` sends `Authorization: Bearer <token>`;
    /// `authorization` sends that header value exactly as given (for malformed ones).
    func get(_ path: String, token: String? = nil, authorization: String? = nil) throws -> (Int, String) {
        try curl(path, authorization: authorization ?? token.map { "Bearer \($0)" }, extra: [])
    }

    /// POSTs `json` to `path`.
    func post(_ path: String, _ json: String, token: String? = nil) throws -> (Int, String) {
        let extra = ["-X", "POST", "-H", "Content-Type: application/json", "--data-binary", json]
        return try curl(path, authorization: token.map { "Bearer \($0)" }, extra: extra)
    }

    private func curl(_ path: String, authorization header: String?, extra: [String]) throws -> (Int, String) {
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments =
            ["-s", "--max-time", "10", "-w", "\n%{http_code}"] + (header.map { ["-H", "Authorization: \($0)"] } ?? [])
            + extra + ["http://127.0.0.1:\(port)\(path)"]
        let out = Pipe()
        curl.standardOutput = out
        try curl.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        curl.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        let status = Int(text.split(separator: "\n").last ?? "") ?? 0
        return (status, String(text.dropLast(String(status).count)))
    }

    /// Waits until `path` answers `status` (the controller may still be starting).
    func waitForStatus(_ path: String, _ status: Int, timeout: TimeInterval = 20) throws -> String {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while true {
            let (code, body) = try get(path)
            if code == status || Date() > deadline { return code == status ? body : "status \(code): \(body)" }
            // Polling an HTTP endpoint from outside is what an operator's probe does too.
            waitForLog(timeout: 0.2) { _ in false }
        }
    }

    /// Sends `signal` and waits for the exit status, and for every line it wrote to be read.
    func stop(_ signal: Int32 = SIGTERM) -> Int32 {
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        let deadline = Date(timeIntervalSinceNow: 10)
        arrived.lock()
        while !ended.withLock({ $0 }), arrived.wait(until: deadline) {}
        arrived.unlock()
        return process.terminationStatus
    }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 ? getsockname(fd, $0, &length) : -1 }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
