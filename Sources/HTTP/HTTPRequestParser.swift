/// An incremental, strict HTTP/1.1 request parser (RFC 9112) for untrusted clients.
///
/// Feed bytes as they arrive; it returns each complete request, or throws the status to answer:
/// 400 for malformed syntax (bare CR, obs-fold, spaces before the colon, bad `Content-Length`,
/// both `Content-Length` and `Transfer-Encoding`), 414/431/413 when a limit is exceeded, 501 for
/// a transfer coding other than `chunked`, 505 for a version other than 1.0/1.1. Nothing beyond
/// the limits is ever buffered. After an error the connection must be closed (the stream's
/// framing is lost).
public struct HTTPRequestParser: Sendable {
    private enum Stage: Sendable {
        case requestLine
        case headers
        case body(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
    }

    public let limits: HTTPLimits
    private var buffer: [UInt8] = []
    private var stage = Stage.requestLine
    private var request = HTTPRequest(method: "", target: "")
    private var headerBytes = 0
    /// Bytes of the current request consumed so far, for error offsets.
    private var consumed = 0

    public init(limits: HTTPLimits = HTTPLimits()) {
        self.limits = limits
    }

    /// Whether a request is partly received (for the read timeout).
    public var isMidRequest: Bool {
        if case .requestLine = stage { return !buffer.isEmpty }
        return true
    }

    public mutating func feed(_ bytes: some Collection<UInt8>) throws(HTTPParseError) -> [HTTPRequest] {
        buffer.append(contentsOf: bytes)
        var done: [HTTPRequest] = []
        while let request = try step() { done.append(request) }
        return done
    }

    /// Advances as far as the buffer allows; returns a request when one completes.
    private mutating func step() throws(HTTPParseError) -> HTTPRequest? {
        while true {
            switch stage {
            case .requestLine:
                guard let line = try takeLine(limit: limits.requestLine, status: 414, what: "request line") else { return nil }
                if line.isEmpty { continue }  // RFC 9112 §2.2: ignore empty lines before a request
                try parseRequestLine(line)
                stage = .headers
            case .headers:
                guard let line = try takeLine(limit: limits.headerBytes - headerBytes, status: 431, what: "header section") else {
                    return nil
                }
                headerBytes += line.count + 2
                if line.isEmpty {
                    if let complete = try startBody() { return complete }
                    continue
                }
                try parseHeader(line)
            case .body(let remaining):
                guard buffer.count >= remaining else { return nil }
                request.body += buffer[0..<remaining]
                drop(remaining)
                return finish()
            case .chunkSize:
                guard let line = try takeLine(limit: 1024, status: 400, what: "chunk size line") else { return nil }
                let digits = line.prefix { $0 != UInt8(ascii: ";") }
                // Hex digits only: Int(_:radix:) would also take a sign, and a negative size
                // must never reach the slicing below.
                guard !digits.isEmpty, digits.count <= 8, digits.allSatisfy({ $0 < 0x80 && Character(Unicode.Scalar($0)).isHexDigit }),
                    let size = Int(String(decoding: digits, as: UTF8.self), radix: 16), size >= 0
                else {
                    throw HTTPParseError(400, at: consumed, "invalid chunk size")
                }
                guard request.body.count + size <= limits.body else {
                    throw HTTPParseError(413, at: consumed, "body larger than \(limits.body) bytes")
                }
                stage = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                guard !buffer.isEmpty else { return nil }
                let take = min(remaining, buffer.count)
                request.body += buffer[0..<take]
                drop(take)
                stage = take == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - take)
            case .chunkDataEnd:
                guard buffer.count >= 2 else { return nil }
                guard buffer[0] == 0x0D, buffer[1] == 0x0A else {
                    throw HTTPParseError(400, at: consumed, "chunk data not followed by CRLF")
                }
                drop(2)
                stage = .chunkSize
            case .trailers:
                guard let line = try takeLine(limit: limits.headerBytes, status: 431, what: "trailer section") else { return nil }
                if line.isEmpty { return finish() }
            }
        }
    }

    private mutating func startBody() throws(HTTPParseError) -> HTTPRequest? {
        let lengths = request.headers.filter { $0.name.lowercased() == "content-length" }.map(\.value)
        let codings = request.headers.filter { $0.name.lowercased() == "transfer-encoding" }.map(\.value)
        if !codings.isEmpty {
            // Both framings at once is the classic request-smuggling vector (RFC 9112 §6.3).
            guard lengths.isEmpty else { throw HTTPParseError(400, at: consumed, "both Content-Length and Transfer-Encoding") }
            guard codings.count == 1, codings[0].lowercased() == "chunked" else {
                throw HTTPParseError(501, at: consumed, "transfer coding \(codings.joined(separator: ", ")) is not supported")
            }
            stage = .chunkSize
            return nil
        }
        guard let text = lengths.first else { return finish() }
        guard Set(lengths).count == 1, !text.isEmpty, text.count <= 18, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let length = Int(text)
        else { throw HTTPParseError(400, at: consumed, "invalid Content-Length") }
        guard length <= limits.body else {
            throw HTTPParseError(413, at: consumed, "body of \(length) bytes is larger than \(limits.body)")
        }
        if length == 0 { return finish() }
        stage = .body(remaining: length)
        return nil
    }

    private mutating func finish() -> HTTPRequest {
        let done = request
        request = HTTPRequest(method: "", target: "")
        stage = .requestLine
        headerBytes = 0
        consumed = 0
        return done
    }

    /// A CRLF-terminated line without its CRLF, or nil when it is not complete yet.
    private mutating func takeLine(limit: Int, status: Int, what: String) throws(HTTPParseError) -> [UInt8]? {
        guard let newline = buffer.firstIndex(of: 0x0A) else {
            if buffer.count > max(limit, 0) { throw HTTPParseError(status, at: consumed, "\(what) longer than its limit") }
            return nil
        }
        guard newline > 0, buffer[newline - 1] == 0x0D else { throw HTTPParseError(400, at: consumed + newline, "line ends without CR") }
        if newline - 1 > max(limit, 0) { throw HTTPParseError(status, at: consumed, "\(what) longer than its limit") }
        let line = Array(buffer[0..<(newline - 1)])
        if line.contains(0x0D) { throw HTTPParseError(400, at: consumed, "bare CR in a line") }
        drop(newline + 1)
        return line
    }

    private mutating func drop(_ count: Int) {
        buffer.removeFirst(count)
        consumed += count
    }

    private mutating func parseRequestLine(_ line: [UInt8]) throws(HTTPParseError) {
        let parts = line.split(separator: 0x20, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw HTTPParseError(400, at: consumed, "malformed request line")
        }
        guard parts[0].allSatisfy(HTTPRequestParser.isTokenByte) else { throw HTTPParseError(400, at: consumed, "invalid method") }
        guard parts[1].allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { throw HTTPParseError(400, at: consumed, "invalid request target") }
        let version = String(decoding: parts[2], as: UTF8.self)
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
            throw HTTPParseError(version.hasPrefix("HTTP/") ? 505 : 400, at: consumed, "unsupported version \(version.prefix(16))")
        }
        request.method = String(decoding: parts[0], as: UTF8.self)
        request.target = String(decoding: parts[1], as: UTF8.self)
        request.version = version
    }

    private mutating func parseHeader(_ line: [UInt8]) throws(HTTPParseError) {
        guard line.first != 0x20, line.first != 0x09 else { throw HTTPParseError(400, at: consumed, "obsolete line folding") }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0 else {
            throw HTTPParseError(400, at: consumed, "header line without a name and a colon")
        }
        let name = line[..<colon]
        guard name.allSatisfy(HTTPRequestParser.isTokenByte) else {
            throw HTTPParseError(400, at: consumed, "invalid header name (whitespace before the colon?)")
        }
        let value = line[(colon + 1)...].drop { $0 == 0x20 || $0 == 0x09 }
        let trimmed = value.reversed().drop { $0 == 0x20 || $0 == 0x09 }.reversed()
        guard trimmed.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else {
            throw HTTPParseError(400, at: consumed, "control character in a header value")
        }
        guard request.headers.count < limits.headerCount else {
            throw HTTPParseError(431, at: consumed, "more than \(limits.headerCount) headers")
        }
        request.headers.append((String(decoding: name, as: UTF8.self), String(decoding: trimmed, as: UTF8.self)))
    }

    /// RFC 9110 `tchar`.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }
}
