import Foundation
import Glibc

/// The per-instance credentials in a child's proxy URL (`http://<server>:<token>@127.0.0.1:<port>`)
/// and the `Proxy-Authorization: Basic` header that carries them back.
public enum ProxyCredentials {
    /// Every token starts so: the redactor recognises it wherever it appears.
    public static let tokenPrefix = "omxp_"

    /// A fresh token: the prefix and 32 hex digits (128 bits from arc4random).
    public static func token() -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        arc4random_buf(&bytes, bytes.count)
        return tokenPrefix + bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }

    public enum Failure: Error, Sendable, Hashable, CustomStringConvertible {
        case missing
        case notBasic
        case badEncoding
        case unknown

        public var description: String {
            switch self {
            case .missing: "no Proxy-Authorization"
            case .notBasic: "Proxy-Authorization is not Basic"
            case .badEncoding: "Proxy-Authorization is not base64 of user:password"
            case .unknown: "unknown proxy credentials"
            }
        }
    }

    /// The user and password of a `Proxy-Authorization` value (`Basic <base64(user:password)>`).
    /// At most 1 KiB of header is looked at.
    public static func parse(_ header: String?) -> Result<(user: String, password: String), Failure> {
        guard let header, !header.isEmpty else { return .failure(.missing) }
        guard header.utf8.count <= 1024 else { return .failure(.badEncoding) }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "basic" else { return .failure(.notBasic) }
        let encoded = parts[1].trimmingCharacters(in: .whitespaces)
        guard let data = Data(base64Encoded: encoded), let text = String(data: data, encoding: .utf8),
            let colon = text.firstIndex(of: ":")
        else { return .failure(.badEncoding) }
        return .success((String(text[..<colon]), String(text[text.index(after: colon)...])))
    }

    /// The header value a client sends for `user` and `password`.
    public static func header(user: String, password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
