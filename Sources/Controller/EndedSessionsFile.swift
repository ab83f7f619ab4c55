import Foundation
import Glibc
import Synchronization

/// The legacy session ids that ended (DELETE, idle expiry, eviction), kept in
/// `var/sessions.ended` so that a restarted controller still answers them with 404: one line
/// per id, `<mac> <issued>`, appended as they end. At start the file is read, entries past the
/// sessions' maximum age dropped, and the rest written back compactly.
final class EndedSessionsFile: Sendable {
    private let descriptor: Mutex<Int32>

    /// The ids ended within `maxAge` before `now`, and the file opened for more; nil when it
    /// can be neither read nor written (sessions then come back after a restart, as before).
    static func open(root: String, maxAge: Int64, now: Int64) -> (EndedSessionsFile, [String: Int64])? {
        let path = root + "/var/sessions.ended"
        var ended: [String: Int64] = [:]
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: " ")
                guard parts.count == 2, let issued = Int64(parts[1]), issued >= now - maxAge else { continue }
                ended[String(parts[0])] = issued
            }
        }
        let compact = ended.map { "\($0.key) \($0.value)\n" }.joined()
        guard PrivateFile.write(Data(compact.utf8), root: root, name: "sessions.ended") != nil else { return nil }
        let descriptor = Glibc.open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        return (EndedSessionsFile(descriptor: descriptor), ended)
    }

    private init(descriptor: Int32) {
        self.descriptor = Mutex(descriptor)
    }

    /// Appends one ended id (a short write with O_APPEND: one line, whole).
    func record(_ key: String, issued: Int64) {
        let line = Array("\(key) \(issued)\n".utf8)
        descriptor.withLock { descriptor in
            _ = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        }
    }
}
