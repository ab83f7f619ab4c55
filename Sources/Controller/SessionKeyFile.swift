import Foundation

/// The HMAC key that seals legacy session ids (`var/session.key`, 32 random bytes, mode 0600),
/// created on first start: sessions then survive a restart of the controller. Whoever can read
/// it can forge session ids, which grant nothing a client without a session lacks (a session is
/// not a credential: the bearer token is checked on every request), but it stays private.
enum SessionKeyFile {
    /// The key under `root`, created when missing; nil when it can be neither read nor made
    /// (sessions then end with the controller, which says so in its log).
    static func load(root: String) -> [UInt8]? {
        let path = root + "/var/session.key"
        if let data = FileManager.default.contents(atPath: path), data.count >= 32 { return Array(data) }
        var key = [UInt8](repeating: 0, count: 32)
        for index in key.indices { key[index] = UInt8.random(in: 0...255) }
        try? FileManager.default.createDirectory(atPath: root + "/var", withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: path, contents: Data(key), attributes: [.posixPermissions: 0o600]) else {
            return nil
        }
        return key
    }
}
