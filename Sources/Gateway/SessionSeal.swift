import Desired
import JSON

/// Legacy session ids that carry their own state: the server, the negotiated version, the
/// client's capabilities and info, and when it was issued, authenticated with HMAC-SHA-256
/// under a key of the controller's. A client that returns with one after a controller restart
/// is served again; a forged, altered or expired one is unknown (404).
///
/// Form: `s1.<payload>.<mac>`, both base64url without padding: visible ASCII, as the spec
/// requires of session ids. The payload is compact JSON; a nonce keeps ids unique.
struct SessionSeal: Sendable {
    /// What an id says.
    struct Contents: Sendable, Equatable {
        var server: String
        var client: ClientContext
        /// Seconds since 1970.
        var issued: Int64
    }

    /// Ids above this size drop the client's info, then shrink its capabilities to their
    /// names: an HTTP header line must stay well inside every proxy's limits.
    static let maxPayload = 2048
    private static let prefix = "s1."

    let key: [UInt8]

    func seal(_ contents: Contents, nonce: String) -> String {
        var fields: [(String, JSONValue)] = [
            ("s", .string(contents.server)), ("v", .string(contents.client.version)), ("c", contents.client.capabilities),
            ("t", .int(Int(contents.issued))), ("n", .string(nonce)),
        ]
        if let info = contents.client.info { fields.append(("i", info)) }
        var payload = JSONValue.object(fields).renderedBytes()
        if payload.count > SessionSeal.maxPayload {
            fields.removeAll { $0.0 == "i" }
            let names = contents.client.capabilities.objectValue?.map { ($0.0, JSONValue.object([])) } ?? []
            fields = fields.map { $0.0 == "c" ? ("c", .object(names)) : $0 }
            payload = JSONValue.object(fields).renderedBytes()
        }
        if payload.count > SessionSeal.maxPayload {
            // Thousands of capability names: none are kept (the client then gets no server
            // requests that need one).
            fields = fields.map { $0.0 == "c" ? ("c", .object([])) : $0 }
            payload = JSONValue.object(fields).renderedBytes()
        }
        let body = SessionSeal.prefix + Base64URL.encode(payload)
        return body + "." + Base64URL.encode(HMAC.sha256(key: key, message: Array(body.utf8)))
    }

    /// The contents of a genuine id; nil for anything else.
    func open(_ id: String) -> Contents? {
        guard id.hasPrefix(SessionSeal.prefix), id.utf8.count <= 4 * SessionSeal.maxPayload,
            let dot = id.lastIndex(of: "."), dot > id.index(id.startIndex, offsetBy: SessionSeal.prefix.count)
        else { return nil }
        let body = String(id[..<dot])
        guard let mac = Base64URL.decode(String(id[id.index(after: dot)...])),
            HMAC.equal(mac, HMAC.sha256(key: key, message: Array(body.utf8))),
            let payload = Base64URL.decode(String(body.dropFirst(SessionSeal.prefix.count))),
            let json = try? JSONParser.parse(payload),
            let server = json["s"]?.stringValue, let version = json["v"]?.stringValue, let issued = json["t"]?.intValue
        else { return nil }
        let client = ClientContext(
            era: .legacy, version: version, capabilities: json["c"] ?? .object([]), info: json["i"], logLevel: nil)
        return Contents(server: server, client: client, issued: Int64(issued))
    }
}

/// Base64 with the URL-safe alphabet and no padding (RFC 4648 §5).
enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let chunk = min(3, bytes.count - index)
            var value = UInt32(bytes[index]) << 16
            if chunk > 1 { value |= UInt32(bytes[index + 1]) << 8 }
            if chunk > 2 { value |= UInt32(bytes[index + 2]) }
            for position in 0...chunk { out.append(alphabet[Int((value >> (18 - 6 * UInt32(position))) & 0x3F)]) }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var value: UInt32 = 0
        var bits = 0
        for byte in text.utf8 {
            guard let digit = alphabet.firstIndex(of: byte) else { return nil }
            value = value << 6 | UInt32(digit)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((value >> UInt32(bits)) & 0xFF))
            }
        }
        // Leftover bits must be zero padding of fewer than 6 bits (2 or 4 after a partial group).
        guard bits < 6, value & ((1 << UInt32(bits)) - 1) == 0 else { return nil }
        return out
    }
}
