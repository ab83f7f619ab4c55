import Desired
import Foundation
import Glibc
import JSON
import Synchronization

/// The NDJSON audit trail: one record per action and per config reload, appended and flushed
/// (write(2) on an O_APPEND descriptor) as it happens, rotated by size (`path.1` … `path.N`).
final class AuditLog: Sendable {
    private struct State {
        var fd: Int32 = -1
        var size: Int64 = 0
        var redactor = Redactor()
        var reported = false
    }

    let path: String
    private let maxSize: Int64
    private let keep: Int
    private let state = Mutex(State())

    init(path: String, maxSize: Int64, keep: Int) {
        self.path = path
        self.maxSize = maxSize
        self.keep = max(keep, 0)
    }

    func configure(secrets: [String]) {
        state.withLock { $0.redactor = Redactor(secrets: secrets) }
    }

    /// Appends `{"ts":…,"kind":…,…fields}`. An unwritable audit file is reported on stderr once
    /// per failure, never fatal: the controller keeps serving.
    func record(_ kind: String, _ fields: [(String, JSONValue)]) {
        state.withLock { state in
            let pairs: [(String, JSONValue)] = [("ts", .string(Logger.timestamp(Date()))), ("kind", .string(kind))] + fields
            let line = Array((Logger.redacted(.object(pairs), state.redactor).rendered() + "\n").utf8)
            if state.fd < 0 { open(&state) }
            guard state.fd >= 0 else { return }
            if state.size + Int64(line.count) > maxSize, state.size > 0 { rotate(&state) }
            let written = line.withUnsafeBytes { Glibc.write(state.fd, $0.baseAddress, $0.count) }
            if written > 0 { state.size += Int64(written) }
        }
    }

    func close() {
        state.withLock { state in
            if state.fd >= 0 { Glibc.close(state.fd) }
            state.fd = -1
        }
    }

    private func open(_ state: inout State) {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        state.fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        if state.fd < 0 {
            FileHandle.standardError.write(
                Data("controller: cannot open the audit log \(path): \(String(cString: strerror(errno)))\n".utf8))
            return
        }
        var info = stat()
        state.size = fstat(state.fd, &info) == 0 ? Int64(info.st_size) : 0
    }

    private func rotate(_ state: inout State) {
        Glibc.close(state.fd)
        state.fd = -1
        if keep == 0 {
            unlink(path)
        } else {
            unlink("\(path).\(keep)")
            for index in stride(from: keep - 1, through: 1, by: -1) { rename("\(path).\(index)", "\(path).\(index + 1)") }
            rename(path, "\(path).1")
        }
        open(&state)
    }
}
