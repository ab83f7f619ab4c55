import Desired

/// The spec hashes `/status` shows, keyed with a random value this process holds in memory.
///
/// `processHash` covers environment values, secrets included; published bare, a weak secret
/// could be guessed offline by hashing candidates. Keyed, a published hash tells whether two
/// processes of this run have the same spec and nothing else; it changes with every start of
/// the controller, and nothing compares it across runs (`controller diff` asks the controller
/// to plan instead).
struct SpecFingerprint: Sendable {
    private let key = PrivateFile.randomBytes(32)

    /// 16 hex digits of HMAC-SHA-256 over the hash.
    func apply(_ hash: String) -> String {
        HMAC.sha256(key: key, message: Array(hash.utf8)).prefix(8).map { byte in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]], as: UTF8.self)
        }.joined()
    }
}
