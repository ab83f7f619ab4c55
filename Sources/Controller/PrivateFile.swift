import Foundation

/// Files of the controller's own under `<root>/var/` that only its user may read (mode 0600):
/// the session key, the ended sessions.
enum PrivateFile {
    /// Writes `contents` to `<root>/var/<name>` (replacing it), creating `var/`; the path, or nil
    /// when it cannot be written.
    static func write(_ contents: Data, root: String, name: String) -> String? {
        try? FileManager.default.createDirectory(atPath: root + "/var", withIntermediateDirectories: true)
        let path = root + "/var/" + name
        return FileManager.default.createFile(atPath: path, contents: contents, attributes: [.posixPermissions: 0o600]) ? path : nil
    }

    /// `count` bytes from the system's secure generator.
    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}
