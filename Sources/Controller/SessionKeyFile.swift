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
        let key = PrivateFile.randomBytes(32)
        return PrivateFile.write(Data(key), root: root, name: "session.key") == nil ? nil : key
    }
}
