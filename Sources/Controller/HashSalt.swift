import Desired
import Foundation

/// A per-install random salt (`var/hash-salt`) for the spec hashes `/status` shows.
///
/// `processHash` covers environment values, secrets included; published bare, a weak secret
/// could be guessed offline by hashing candidates. Salted with a value that never leaves the
/// machine, the published hash only lets whoever can read `var/` (the operator running
/// `controller diff` on the same root) compare specs.
struct HashSalt: Sendable {
    let value: String

    /// Reads the salt under `root`, creating it (mode 0600) when `create` and it is missing.
    static func load(root: String, create: Bool) -> HashSalt? {
        let path = root + "/var/hash-salt"
        if let text = try? String(contentsOfFile: path, encoding: .utf8), text.count >= 32 {
            return HashSalt(value: text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        guard create else { return nil }
        let value = PrivateFile.randomBytes(32).map { String(format: "%02x", $0) }.joined()
        guard PrivateFile.write(Data((value + "\n").utf8), root: root, name: "hash-salt") != nil else { return nil }
        return HashSalt(value: value)
    }

    /// 16 hex digits of SHA-256 over the salt and the hash.
    func apply(_ hash: String) -> String {
        String(SHA256.hex(value + ":" + hash).prefix(16))
    }
}
