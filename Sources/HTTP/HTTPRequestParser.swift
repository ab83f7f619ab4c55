import Glibc

/// An incremental, strict HTTP/1.1 request parser (RFC 9112) for untrusted clients.
///
/// Feed bytes as they arrive; it returns each complete request, or throws the status to answer:
/// 400 for malformed syntax (bare CR, obs-fold, spaces before the colon, bad `Content-Length`,
/// both `Content-Length` and `Transfer-Encoding`, a missing or repeated `Host` on HTTP/1.1),
/// 414/431/413 when a limit is exceeded (trailers count against the header limits), 501 for a
/// transfer coding other than `chunked`, 505 for a version other than 1.0/1.1. Nothing beyond
/// the limits is ever buffered, and no input costs more than linear time: the buffer is read
/// through a cursor and compacted only once the consumed part outweighs the rest; empty lines
/// before a request count against the request-line limit. After an error the connection must
/// be closed (the stream's framing is lost).
public struct HTTPRequestParser: Sendable {
    /// Where the parser is, for the connection's per-phase deadlines.
    public enum Phase: Sendable, Hashable {
        /// Between requests: nothing of the next one has arrived.
        case idle
        /// The request line or headers are arriving.
        case head
        /// The head is complete; the body (or the trailers) are arriving.
        case body
    }

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
    /// The first byte of `buffer` not consumed yet.
    private var cursor = 0
    private var stage = Stage.requestLine
    private var request = HTTPRequest(method: "", target: "")
    private var headerBytes = 0
    private var trailerCount = 0
    /// Empty lines seen before this request's line (RFC 9112 §2.2 allows some; not a megabyte).
    private var blankBytes = 0
    /// Bytes of the current request consumed so far, for error offsets.
    private var consumed = 0
    /// Bytes after `cursor` already searched for a line feed: an incomplete line trickled in
    /// byte by byte is searched once, not once per byte.
    private var scanned = 0

    public init(limits: HTTPLimits = HTTPLimits()) {
        self.limits = limits
    }

    /// Whether a request is partly received.
    public var isMidRequest: Bool { phase != .idle }

    public var phase: Phase {
        switch stage {
        case .requestLine: cursor < buffer.count || blankBytes > 0 ? .head : .idle
        case .headers: .head
        default: .body
        }
    }

    /// The request whose head was just read asked for `100 Continue` before sending its body
    /// (`Expect: 100-continue`); reset by `takeContinueRequest`.
    public private(set) var continueRequested = false

    /// Whether the current request asked for `100 Continue` (once per request).
    public mutating func takeContinueRequest() -> Bool {
        defer { continueRequested = false }
        return continueRequested
    }

    /// Bytes received and not yet parsed (the start of a pipelined request, say).
    public var buffered: Int { buffer.count - cursor }

    /// Appends bytes and returns every request they complete.
    public mutating func feed(_ bytes: some Collection<UInt8>) throws(HTTPParseError) -> [HTTPRequest] {
        append(bytes)
        var done: [HTTPRequest] = []
        while let request = try next() { done.append(request) }
        return done
    }

    /// Takes the bytes received after the last complete request and not parsed yet (a proxy's
    /// client may send the first bytes of a tunnel right behind its `CONNECT`). Only between
    /// requests; the parser starts empty again.
    public mutating func takeBuffered() -> [UInt8] {
        defer {
            buffer.removeAll()
            cursor = 0
            scanned = 0
        }
        return Array(buffer[cursor...])
    }

    /// Appends received bytes without parsing them (see `next`).
    public mutating func append(_ bytes: some Collection<UInt8>) {
        if cursor > 0, cursor >= buffer.count - cursor {
            buffer.removeSubrange(0..<cursor)
            cursor = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete request from what was appended, or nil when more bytes are needed.
    /// A caller that stops asking (to bound requests in flight) keeps the rest buffered.
    public mutating func next() throws(HTTPParseError) -> HTTPRequest? {
        let request = try step()
        releaseConsumed()
        return request
    }

    /// Advances as far as the buffer allows; returns a request when one completes.
    private mutating func step() throws(HTTPParseError) -> HTTPRequest? {
        while true {
            switch stage {
            case .requestLine:
                guard let line = try takeLine(limit: limits.requestLine - blankBytes, status: 414, what: "request line") else {
                    return nil
                }
                if line.isEmpty {
                    blankBytes += 2
                    if blankBytes > limits.requestLine { throw HTTPParseError(400, at: consumed, "too many empty lines before a request") }
                    continue
                }
                try parseRequestLine(line)
                stage = .headers
            case .headers:
                guard let line = try takeLine(limit: limits.headerBytes - headerBytes, status: 431, what: "header section") else {
                    return nil
                }
                headerBytes += line.count + 2
                if line.isEmpty {
                    try checkHost()
                    if let complete = try startBody() { return complete }
                    continue
                }
                try parseHeader(line)
            case .body(let remaining):
                guard buffer.count - cursor >= remaining else { return nil }
                request.body = Array(buffer[cursor..<(cursor + remaining)])
                drop(remaining)
                return finish()
            case .chunkSize:
                guard let line = try takeLine(limit: 1024, status: 400, what: "chunk size line") else { return nil }
                let digits = line.prefix { $0 != UInt8(ascii: ";") }
                // Hex digits only: Int(_:radix:) would also take a sign, and a negative size
                // must never reach the slicing below.
                guard !digits.isEmpty, digits.count <= 8, digits.allSatisfy(HTTPRequestParser.isHexDigit),
                    let size = Int(String(decoding: digits, as: UTF8.self), radix: 16), size >= 0
                else {
                    throw HTTPParseError(400, at: consumed, "invalid chunk size")
                }
                let limit = limits.bodyLimit(for: request.target)
                guard request.body.count + size <= limit else {
                    throw HTTPParseError(413, at: consumed, "body larger than \(limit) bytes")
                }
                stage = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                guard cursor < buffer.count else { return nil }
                let take = min(remaining, buffer.count - cursor)
                request.body += buffer[cursor..<(cursor + take)]
                drop(take)
                stage = take == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - take)
            case .chunkDataEnd:
                guard buffer.count - cursor >= 2 else { return nil }
                guard buffer[cursor] == 0x0D, buffer[cursor + 1] == 0x0A else {
                    throw HTTPParseError(400, at: consumed, "chunk data not followed by CRLF")
                }
                drop(2)
                stage = .chunkSize
            case .trailers:
                // Trailers share the header section's byte and count limits: a client must not
                // get a second, unbounded header section after the body.
                guard let line = try takeLine(limit: limits.headerBytes - headerBytes, status: 431, what: "trailer section") else {
                    return nil
                }
                headerBytes += line.count + 2
                if line.isEmpty { return finish() }
                // Checked as strictly as a header (then dropped: nothing here reads trailers).
                guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
                    line[line.startIndex..<colon].allSatisfy(HTTPWireSyntax.isTokenByte),
                    line[(colon + 1)...].allSatisfy(HTTPWireSyntax.isFieldByte)
                else { throw HTTPParseError(400, at: consumed, "malformed trailer field") }
                trailerCount += 1
                guard request.headers.count + trailerCount <= limits.headerCount else {
                    throw HTTPParseError(431, at: consumed, "more than \(limits.headerCount) header and trailer fields")
                }
            }
        }
    }

    /// RFC 9112 §3.2: an HTTP/1.1 request carries exactly one `Host`; 1.0 may omit it.
    private func checkHost() throws(HTTPParseError) {
        var count = 0
        for header in request.headers where HTTPWireSyntax.equalsIgnoringCase(header.name, "host") { count += 1 }
        if count > 1 { throw HTTPParseError(400, at: consumed, "more than one Host header") }
        if count == 0, request.version == "HTTP/1.1" { throw HTTPParseError(400, at: consumed, "missing Host header") }
    }

    private mutating func startBody() throws(HTTPParseError) -> HTTPRequest? {
        var lengths: [String] = []
        var codings: [String] = []
        for header in request.headers {
            if HTTPWireSyntax.equalsIgnoringCase(header.name, "content-length") { lengths.append(header.value) }
            if HTTPWireSyntax.equalsIgnoringCase(header.name, "transfer-encoding") { codings.append(header.value) }
        }
        if !codings.isEmpty {
            // Both framings at once is the classic request-smuggling vector (RFC 9112 §6.3).
            guard lengths.isEmpty else { throw HTTPParseError(400, at: consumed, "both Content-Length and Transfer-Encoding") }
            guard codings.count == 1, codings[0].lowercased() == "chunked" else {
                throw HTTPParseError(501, at: consumed, "transfer coding \(codings.joined(separator: ", ")) is not supported")
            }
            stage = .chunkSize
            continueRequested = expectsContinue
            return nil
        }
        guard let text = lengths.first else { return finish() }
        guard Set(lengths).count == 1, !text.isEmpty, text.count <= 18, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let length = Int(text)
        else { throw HTTPParseError(400, at: consumed, "invalid Content-Length") }
        let limit = limits.bodyLimit(for: request.target)
        guard length <= limit else {
            throw HTTPParseError(413, at: consumed, "body of \(length) bytes is larger than \(limit)")
        }
        if length == 0 { return finish() }
        stage = .body(remaining: length)
        continueRequested = expectsContinue
        return nil
    }

    private var expectsContinue: Bool {
        request.version == "HTTP/1.1" && request.header("Expect").map { HTTPWireSyntax.equalsIgnoringCase($0, "100-continue") } == true
    }

    private mutating func finish() -> HTTPRequest {
        continueRequested = false
        let done = request
        request = HTTPRequest(method: "", target: "")
        stage = .requestLine
        headerBytes = 0
        trailerCount = 0
        blankBytes = 0
        consumed = 0
        return done
    }

    /// The next CRLF-terminated line (without its CRLF), consumed, or nil when it is not
    /// complete yet. The slice shares the buffer's storage: no copy per line.
    private mutating func takeLine(limit: Int, status: Int, what: String) throws(HTTPParseError) -> ArraySlice<UInt8>? {
        let available = buffer.count - cursor
        // Only as far as the limit allows (plus the CRLF): a long line is refused without
        // searching, or keeping, more than that.
        let window = min(available, max(limit, 0) + 2)
        let start = cursor
        let from = min(scanned, window)
        let newline: Int? = buffer.withUnsafeBufferPointer { bytes in
            guard window > from, let base = bytes.baseAddress,
                let found = memchr(base + start + from, 0x0A, window - from)
            else { return nil }
            return UnsafePointer(found.assumingMemoryBound(to: UInt8.self)) - (base + start)
        }
        guard let newline else {
            scanned = window
            if available > max(limit, 0) + 1 { throw HTTPParseError(status, at: consumed, "\(what) longer than its limit") }
            return nil
        }
        guard newline > 0, buffer[start + newline - 1] == 0x0D else {
            throw HTTPParseError(400, at: consumed + newline, "line ends without CR")
        }
        if newline - 1 > max(limit, 0) { throw HTTPParseError(status, at: consumed, "\(what) longer than its limit") }
        let line = buffer[start..<(start + newline - 1)]
        if line.contains(0x0D) { throw HTTPParseError(400, at: consumed, "bare CR in a line") }
        cursor += newline + 1
        consumed += newline + 1
        scanned = 0
        return line
    }

    /// Forgets the consumed bytes once everything buffered was read.
    private mutating func releaseConsumed() {
        if cursor == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 65536)
            cursor = 0
        }
    }

    private mutating func drop(_ count: Int) {
        scanned = 0
        cursor += count
        consumed += count
        releaseConsumed()
    }

    private mutating func parseRequestLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError) {
        guard let firstSpace = line.firstIndex(of: 0x20),
            let secondSpace = line[(firstSpace + 1)...].firstIndex(of: 0x20),
            !line[(secondSpace + 1)...].contains(0x20)
        else { throw HTTPParseError(400, at: consumed, "malformed request line") }
        let method = line[line.startIndex..<firstSpace]
        let target = line[(firstSpace + 1)..<secondSpace]
        let version = line[(secondSpace + 1)...]
        guard !method.isEmpty, !target.isEmpty else { throw HTTPParseError(400, at: consumed, "malformed request line") }
        guard method.allSatisfy(HTTPWireSyntax.isTokenByte) else { throw HTTPParseError(400, at: consumed, "invalid method") }
        guard target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { throw HTTPParseError(400, at: consumed, "invalid request target") }
        let versionText = String(decoding: version, as: UTF8.self)
        guard versionText == "HTTP/1.1" || versionText == "HTTP/1.0" else {
            throw HTTPParseError(
                versionText.hasPrefix("HTTP/") ? 505 : 400, at: consumed, "unsupported version \(versionText.prefix(16))")
        }
        request.method = String(decoding: method, as: UTF8.self)
        request.target = String(decoding: target, as: UTF8.self)
        request.version = versionText
    }

    private mutating func parseHeader(_ line: ArraySlice<UInt8>) throws(HTTPParseError) {
        guard line.first != 0x20, line.first != 0x09 else { throw HTTPParseError(400, at: consumed, "obsolete line folding") }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else {
            throw HTTPParseError(400, at: consumed, "header line without a name and a colon")
        }
        let name = line[line.startIndex..<colon]
        guard name.allSatisfy(HTTPWireSyntax.isTokenByte) else {
            throw HTTPParseError(400, at: consumed, "invalid header name (whitespace before the colon?)")
        }
        // Optional whitespace around the value is not part of it (RFC 9110 §5.5).
        var start = colon + 1
        var end = line.endIndex
        while start < end, line[start] == 0x20 || line[start] == 0x09 { start += 1 }
        while end > start, line[end - 1] == 0x20 || line[end - 1] == 0x09 { end -= 1 }
        let value = line[start..<end]
        guard value.allSatisfy(HTTPWireSyntax.isFieldByte) else {
            throw HTTPParseError(400, at: consumed, "control character in a header value")
        }
        guard request.headers.count < limits.headerCount else {
            throw HTTPParseError(431, at: consumed, "more than \(limits.headerCount) headers")
        }
        request.headers.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
    }

    static func isHexDigit(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"), UInt8(ascii: "A")...UInt8(ascii: "F"): true
        default: false
        }
    }
}
