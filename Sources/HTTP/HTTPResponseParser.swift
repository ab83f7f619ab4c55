/// What `HTTPResponseParser` reads, in order: for each response one `head`, then its body as
/// zero or more `body` pieces (as they arrive; adjacent pieces of one `feed` are merged), then
/// `end`. Interim (1xx) responses are skipped and produce nothing.
public enum HTTPResponseEvent: Sendable, Equatable {
    case head(HTTPResponseHead)
    case body([UInt8])
    case end
}

/// An incremental, strict HTTP/1.1 response parser (RFC 9112) for a client reading from
/// untrusted servers. Pure: it never touches a socket.
///
/// Feed bytes as they arrive; each call returns the events they complete. The parser keeps one
/// buffer and a read index (compacted when the consumed part dominates), and resumes a line
/// search where the last one stopped, so any input, however split, costs linear time; it never
/// buffers more than one incomplete line (bounded by `HTTPClientLimits`) plus the current read.
/// Body bytes are handed on as they arrive, never accumulated.
///
/// One response per request, in order: `init` expects the first request's response, and
/// `expect(method:)` queues each following one (pipelined requests may be queued ahead). The
/// method matters because a response to HEAD has no body. Bytes that begin a response when no
/// request is pending are an error.
///
/// Framing (RFC 9112 §6.3): no body for HEAD, 1xx, 204 and 304 (headers ignored); otherwise
/// `Transfer-Encoding: chunked` (extensions ignored, trailers read, checked and discarded);
/// otherwise `Content-Length`; otherwise the body runs until the server closes (`finish()`).
/// Interim 1xx responses are skipped (at most `interimResponses`); 101 is refused (this client
/// never asks to switch protocols), as is a 2xx to CONNECT.
///
/// Strict: lines end in CRLF (a bare LF or a bare CR is an error, even though RFC 9112 §2.2
/// lets a recipient accept a bare LF); obs-fold, a header line without a colon, whitespace
/// before the colon, control characters (other than tab) in a value, an invalid, signed or
/// conflicting `Content-Length`, `Content-Length` together with `Transfer-Encoding`, a coding
/// other than a single `chunked`, `Transfer-Encoding` in an HTTP/1.0 response, a version other
/// than `HTTP/1.x` and a status outside 100...599 are all errors. Empty lines before a status
/// line are tolerated (some servers send a stray CRLF after a body), within the status line's
/// byte limit. A status line without a reason phrase (`HTTP/1.1 200`) is accepted.
///
/// Every error is an `HTTPParseError` with status 502, the offset counted from the end of the
/// previous final response (interim responses included) and a message. Errors are final: the
/// connection's framing is lost, so close it. Events found before an error in the same `feed`
/// are still returned (a complete response is not lost to garbage after it) and the error is
/// thrown by the next call; `failure` and `isIdle` show it at once.
public struct HTTPResponseParser: Sendable {
    private enum Stage: Sendable, Equatable {
        case statusLine
        case headers
        case body(remaining: Int)
        case untilClose
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case closed
    }

    private static let cr = UInt8(ascii: "\r")
    private static let lf = UInt8(ascii: "\n")
    private static let status = 502

    public let limits: HTTPClientLimits
    private var buffer: [UInt8] = []
    /// The first unconsumed byte of `buffer`.
    private var readIndex = 0
    /// Bytes after `readIndex` already searched for a line feed (an incomplete line).
    private var scanned = 0
    /// Bytes removed from the front of `buffer` since the parser began (absolute positions).
    private var discarded = 0
    /// Absolute position where the current response (interim ones included) began.
    private var messageStart = 0
    private var stage = Stage.statusLine
    /// Methods of the requests whose responses are still to come, oldest first.
    private var pending: [String]
    private var head = HTTPResponseHead(status: 0)
    /// Bytes of empty lines before the status line, then of the header or trailer section.
    private var sectionBytes = 0
    private var fieldCount = 0
    private var interimCount = 0
    private var bodyBytes = 0
    /// The error to throw from now on, once found.
    public private(set) var failure: HTTPParseError?

    /// A parser expecting the response to one request made with `requestMethod`.
    public init(limits: HTTPClientLimits = HTTPClientLimits(), requestMethod: String = "GET") {
        self.limits = limits
        self.pending = [requestMethod]
    }

    /// Queues the method of the next request sent on this connection, whose response follows
    /// those already expected.
    public mutating func expect(method: String) {
        pending.append(method)
    }

    /// Between responses: no error, no part of a response received, nothing buffered. A
    /// connection may be reused only when this holds after a response's `end` (and the head
    /// said `keepAlive`).
    public var isIdle: Bool {
        failure == nil && stage == .statusLine && readIndex == buffer.count && interimCount == 0
    }

    /// Responses expected and not yet begun or complete.
    public var pendingResponses: Int { pending.count }

    /// Reads `bytes`; returns the events they complete.
    public mutating func feed(_ bytes: some Collection<UInt8>) throws(HTTPParseError) -> [HTTPResponseEvent] {
        if let failure { throw failure }
        guard !bytes.isEmpty else { return [] }
        guard stage != .closed else {
            return try fail(HTTPParseError(Self.status, at: offset(readIndex), "data after the connection closed"), [])
        }
        buffer.append(contentsOf: bytes)
        var events: [HTTPResponseEvent] = []
        do {
            try run(&events)
        } catch {
            return try fail(error, events)
        }
        compact()
        return events
    }

    /// The server closed the connection: ends a close-delimited body; between responses it is
    /// not an error (the caller knows whether it still awaited one, and whether to retry); in the
    /// middle of a response (an interim one included) it is.
    public mutating func finish() throws(HTTPParseError) -> [HTTPResponseEvent] {
        if let failure { throw failure }
        switch stage {
        case .closed:
            return []
        case .untilClose:
            stage = .closed
            return [.end]
        case .statusLine where readIndex == buffer.count && interimCount == 0:
            stage = .closed
            return []
        default:
            let error = HTTPParseError(Self.status, at: offset(buffer.count), "connection closed in the middle of a response")
            failure = error
            throw error
        }
    }

    /// Records the error; throws it now unless events precede it, which are returned instead.
    private mutating func fail(_ error: HTTPParseError, _ events: [HTTPResponseEvent]) throws(HTTPParseError) -> [HTTPResponseEvent] {
        failure = error
        buffer = []
        readIndex = 0
        scanned = 0
        if events.isEmpty { throw error }
        return events
    }

    /// The offset of a buffer index in the current response, for errors.
    private func offset(_ index: Int) -> Int { discarded + index - messageStart }

    private func error(at index: Int, _ message: String) -> HTTPParseError {
        HTTPParseError(Self.status, at: offset(index), message)
    }

    /// Advances as far as the buffer allows.
    private mutating func run(_ events: inout [HTTPResponseEvent]) throws(HTTPParseError) {
        while true {
            switch stage {
            case .statusLine:
                guard readIndex < buffer.count else { return }
                if pending.isEmpty, interimCount == 0, buffer[readIndex] != Self.cr {
                    throw error(at: readIndex, "response without a request")
                }
                let most = limits.statusLine
                guard let line = try takeLine(limit: most - sectionBytes, "status line longer than \(most) bytes") else { return }
                if line.isEmpty {
                    sectionBytes += 2
                    if sectionBytes > limits.statusLine {
                        throw error(at: readIndex, "more than \(limits.statusLine) bytes of empty lines")
                    }
                    continue
                }
                try parseStatusLine(line)
                sectionBytes = 0
                fieldCount = 0
                stage = .headers
            case .headers:
                let lineStart = readIndex
                let most = limits.headerBytes
                guard let line = try takeLine(limit: most - sectionBytes - 2, "header section longer than \(most) bytes") else { return }
                sectionBytes += line.count + 2
                if !line.isEmpty {
                    head.headers.append(try parseField(line, at: lineStart, count: limits.headerCount, what: "header"))
                    continue
                }
                if let framing = try startBody(at: lineStart) {
                    head.framing = framing
                    events.append(.head(head))
                    switch framing {
                    case .noBody: endMessage(&events)
                    case .length(let length): stage = .body(remaining: length)
                    case .chunked: stage = .chunkSize
                    case .untilClose: stage = .untilClose
                    }
                }
            case .body(let remaining):
                guard readIndex < buffer.count else { return }
                let take = min(remaining, buffer.count - readIndex)
                emitBody(take, &events)
                if take == remaining {
                    endMessage(&events)
                } else {
                    stage = .body(remaining: remaining - take)
                }
            case .untilClose:
                guard readIndex < buffer.count else { return }
                let take = buffer.count - readIndex
                if let maxBody = limits.maxBody, bodyBytes + take > maxBody {
                    throw error(at: readIndex + maxBody - bodyBytes, "body longer than \(maxBody) bytes")
                }
                emitBody(take, &events)
            case .chunkSize:
                let lineStart = readIndex
                let most = limits.chunkLine
                guard let line = try takeLine(limit: most, "chunk size line longer than \(most) bytes") else { return }
                let size = try chunkSize(line, at: lineStart)
                if let maxBody = limits.maxBody, size > maxBody - bodyBytes {
                    throw error(at: lineStart, "body longer than \(maxBody) bytes")
                }
                if size == 0 {
                    sectionBytes = 0
                    fieldCount = 0
                    stage = .trailers
                } else {
                    stage = .chunkData(remaining: size)
                }
            case .chunkData(let remaining):
                guard readIndex < buffer.count else { return }
                let take = min(remaining, buffer.count - readIndex)
                emitBody(take, &events)
                stage = take == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - take)
            case .chunkDataEnd:
                guard readIndex < buffer.count else { return }
                guard buffer[readIndex] == Self.cr else { throw error(at: readIndex, "chunk data not followed by CRLF") }
                guard readIndex + 1 < buffer.count else { return }
                guard buffer[readIndex + 1] == Self.lf else { throw error(at: readIndex + 1, "chunk data not followed by CRLF") }
                readIndex += 2
                stage = .chunkSize
            case .trailers:
                let lineStart = readIndex
                let most = limits.trailerBytes
                guard let line = try takeLine(limit: most - sectionBytes - 2, "trailer section longer than \(most) bytes") else { return }
                sectionBytes += line.count + 2
                if line.isEmpty {
                    endMessage(&events)
                } else {
                    _ = try parseField(line, at: lineStart, count: limits.trailerCount, what: "trailer")
                }
            case .closed:
                return
            }
        }
    }

    /// Hands on the next `count` buffered bytes as body, merged with a body event just before.
    private mutating func emitBody(_ count: Int, _ events: inout [HTTPResponseEvent]) {
        let bytes = buffer[readIndex..<(readIndex + count)]
        readIndex += count
        bodyBytes += count
        if case .body(var previous)? = events.last {
            events.removeLast()
            previous.append(contentsOf: bytes)
            events.append(.body(previous))
        } else {
            events.append(.body(Array(bytes)))
        }
    }

    private mutating func endMessage(_ events: inout [HTTPResponseEvent]) {
        events.append(.end)
        stage = .statusLine
        head = HTTPResponseHead(status: 0)
        sectionBytes = 0
        fieldCount = 0
        interimCount = 0
        bodyBytes = 0
        messageStart = discarded + readIndex
    }

    /// Drops consumed bytes: all of them when nothing is left, else when they are most of the
    /// buffer (so each byte is moved at most a bounded number of times).
    private mutating func compact() {
        if readIndex == buffer.count {
            discarded += readIndex
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 16)
            readIndex = 0
        } else if readIndex >= 4096, readIndex * 2 >= buffer.count {
            discarded += readIndex
            buffer.removeSubrange(0..<readIndex)
            readIndex = 0
        }
    }

    /// The next line without its CRLF, or nil when it is not complete yet; consumes it. At most
    /// `limit` bytes before the CRLF are searched, however much is buffered.
    private mutating func takeLine(limit: Int, _ tooLong: @autoclosure () -> String) throws(HTTPParseError) -> ArraySlice<UInt8>? {
        let limit = max(limit, 0)
        let start = readIndex
        let windowEnd = min(buffer.count, start + limit + 2)
        var index = start + scanned
        while index < windowEnd, buffer[index] != Self.lf { index += 1 }
        guard index < windowEnd else {
            if windowEnd == start + limit + 2 { throw error(at: start + limit, tooLong()) }
            scanned = index - start
            return nil
        }
        guard index > start, buffer[index - 1] == Self.cr else { throw error(at: index, "line ends without CR") }
        let line = buffer[start..<(index - 1)]
        if let bare = line.firstIndex(of: Self.cr) { throw error(at: bare, "bare CR in a line") }
        readIndex = index + 1
        scanned = 0
        return line
    }

    private mutating func parseStatusLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError) {
        let start = line.startIndex
        // HTTP-version SP 3DIGIT [SP reason-phrase]: the version is exactly `HTTP/1.` and a digit.
        guard line.count >= 12, line.starts(with: "HTTP/1.".utf8), HTTPWireSyntax.isDigit(line[start + 7]), line[start + 8] == 0x20,
            line[(start + 9)..<(start + 12)].allSatisfy(HTTPWireSyntax.isDigit), line.count == 12 || line[start + 12] == 0x20
        else {
            throw error(at: start, "malformed status line")
        }
        let status = line[(start + 9)..<(start + 12)].reduce(0) { $0 * 10 + Int($1 - 0x30) }
        guard (100...599).contains(status) else { throw error(at: start + 9, "status \(status) outside 100...599") }
        let reason = line.dropFirst(13)
        if let bad = reason.firstIndex(where: { !HTTPWireSyntax.isFieldByte($0) }) {
            throw error(at: bad, "control character in the reason phrase")
        }
        if (100...199).contains(status) {
            guard status != 101 else { throw error(at: start + 9, "101 Switching Protocols is not supported") }
            interimCount += 1
            guard interimCount <= limits.interimResponses else {
                throw error(at: start, "more than \(limits.interimResponses) interim responses")
            }
        } else if pending.isEmpty {
            throw error(at: start, "response without a request")
        }
        head = HTTPResponseHead(
            status: status, reason: String(decoding: reason, as: UTF8.self), version: String(decoding: line.prefix(8), as: UTF8.self))
    }

    /// Checks one header or trailer field; returns its name and value (OWS trimmed).
    private mutating func parseField(
        _ line: ArraySlice<UInt8>, at lineStart: Int, count limit: Int, what: String
    ) throws(HTTPParseError) -> (String, String) {
        guard line.first != 0x20, line.first != 0x09 else { throw error(at: lineStart, "obsolete line folding") }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else {
            throw error(at: lineStart, "\(what) line without a name and a colon")
        }
        let name = line[..<colon]
        if let bad = name.firstIndex(where: { !HTTPWireSyntax.isTokenByte($0) }) {
            throw error(at: bad, "invalid \(what) name (whitespace before the colon?)")
        }
        let value = line[(colon + 1)...].drop { $0 == 0x20 || $0 == 0x09 }
        var end = value.endIndex
        while end > value.startIndex, value[end - 1] == 0x20 || value[end - 1] == 0x09 { end -= 1 }
        let trimmed = value[..<end]
        if let bad = trimmed.firstIndex(where: { !HTTPWireSyntax.isFieldByte($0) }) {
            throw error(at: bad, "control character in a \(what) value")
        }
        fieldCount += 1
        guard fieldCount <= limit else { throw error(at: lineStart, "more than \(limit) \(what)s") }
        return (String(decoding: name, as: UTF8.self), String(decoding: trimmed, as: UTF8.self))
    }

    /// Decides the body's framing once the head is complete (RFC 9112 §6.3), or returns nil
    /// after an interim response (whose head is dropped).
    private mutating func startBody(at index: Int) throws(HTTPParseError) -> HTTPResponseHead.Framing? {
        if head.status < 200 {
            head = HTTPResponseHead(status: 0)
            sectionBytes = 0
            stage = .statusLine
            return nil
        }
        guard let method = pending.first else { throw error(at: index, "response without a request") }
        pending.removeFirst()
        if method == "CONNECT", (200...299).contains(head.status) { throw error(at: index, "tunnels (2xx to CONNECT) are not supported") }
        if method == "HEAD" || head.status == 204 || head.status == 304 { return .noBody }
        let codings = head.values("Transfer-Encoding")
        let lengths = head.values("Content-Length")
        if !codings.isEmpty {
            // Both framings at once is the classic smuggling vector (RFC 9112 §6.1).
            guard lengths.isEmpty else { throw error(at: index, "both Content-Length and Transfer-Encoding") }
            guard head.version != "HTTP/1.0" else { throw error(at: index, "Transfer-Encoding in an HTTP/1.0 response") }
            let list = codings.joined(separator: ",").split(separator: ",", omittingEmptySubsequences: false).map {
                HTTPWireSyntax.trimmingOWS($0).lowercased()
            }
            guard list == ["chunked"] else {
                throw error(at: index, "transfer coding \(codings.joined(separator: ", ").prefix(64)) is not supported")
            }
            return .chunked
        }
        guard !lengths.isEmpty else { return .untilClose }
        // RFC 9110 §8.6: a list of identical values (`5, 5`, or repeated fields) is one value.
        var length: Int?
        for element in lengths.joined(separator: ",").split(separator: ",", omittingEmptySubsequences: false) {
            let text = HTTPWireSyntax.trimmingOWS(element)
            guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy(HTTPWireSyntax.isDigit), let value = Int(text) else {
                throw error(at: index, "invalid Content-Length \(String(element.prefix(32)).debugDescription)")
            }
            guard length == nil || length == value else { throw error(at: index, "conflicting Content-Length values") }
            length = value
        }
        guard let length, length > 0 else { return .noBody }
        if let maxBody = limits.maxBody, length > maxBody {
            throw error(at: index, "body of \(length) bytes is longer than \(maxBody)")
        }
        return .length(length)
    }

    /// A chunk-size line's size: hex digits only (no sign, no space), then optional extensions.
    private func chunkSize(_ line: ArraySlice<UInt8>, at lineStart: Int) throws(HTTPParseError) -> Int {
        var size = 0
        var index = line.startIndex
        while index < line.endIndex, let digit = Self.hexValue(line[index]) {
            guard size <= (Int.max - 15) / 16 else { throw error(at: lineStart, "chunk size too large") }
            size = size * 16 + digit
            index += 1
        }
        guard index > line.startIndex else { throw error(at: lineStart, "invalid chunk size") }
        // chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ): ignored, but it must
        // begin with a semicolon and hold no control characters.
        let rest = line[index...].drop { $0 == 0x20 || $0 == 0x09 }
        guard index == line.endIndex || rest.first == UInt8(ascii: ";") else { throw error(at: lineStart, "invalid chunk size") }
        if let bad = rest.firstIndex(where: { !HTTPWireSyntax.isFieldByte($0) }) {
            throw error(at: bad, "control character in a chunk extension")
        }
        return size
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case 0x30...0x39: Int(byte - 0x30)
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}
