import Foundation
import Glibc

/// A blocking TCP connection with send and receive timeouts (`FetchTool.timeoutSeconds`).
final class Connection {
    private let fd: Int32

    init(host: String, port: Int) throws(FetchError) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw FetchError(message: "cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        var connected: Int32 = -1
        while let entry = cursor?.pointee, connected < 0 {
            cursor = entry.ai_next
            let socket = Glibc.socket(entry.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard socket >= 0 else { continue }
            var timeout = timeval(tv_sec: FetchTool.timeoutSeconds, tv_usec: 0)
            setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            // With SO_SNDTIMEO set, a blocking connect gives up after the timeout too.
            if Glibc.connect(socket, entry.ai_addr, entry.ai_addrlen) == 0 {
                connected = socket
            } else {
                lastError = String(cString: strerror(errno))
                Glibc.close(socket)
            }
        }
        guard connected >= 0 else { throw FetchError(message: "cannot connect to \(host):\(port): \(lastError)") }
        fd = connected
    }

    func send(_ bytes: [UInt8]) throws(FetchError) {
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw FetchError(message: "send failed: \(String(cString: strerror(errno)))") }
            offset += count
        }
    }

    /// Up to `max` bytes; empty at end of stream.
    func receive(max: Int = 65536) throws(FetchError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0, errno == EINTR { continue }
            if count < 0 {
                let reason = errno == EAGAIN || errno == EWOULDBLOCK ? "timed out" : String(cString: strerror(errno))
                throw FetchError(message: "receive failed: \(reason)")
            }
            return Array(buffer[0..<count])
        }
    }

    func close() {
        Glibc.close(fd)
    }
}

/// An HTTP response as the tool reports it: status, reason, the start of the body, its size.
struct Response {
    var status: Int
    var reason: String
    var body: [UInt8]
    var bytes: Int

    /// Reads the head (at most 64 KiB), then the body until `Content-Length` or the end of the
    /// stream, keeping `FetchTool.maxBodyText` bytes and counting up to `FetchTool.maxRead`.
    static func read(from connection: Connection, headOnly: Bool = false) throws(FetchError) -> Response {
        var buffer: [UInt8] = []
        var headEnd: Int?
        while headEnd == nil {
            let chunk = try connection.receive()
            if chunk.isEmpty { throw FetchError(message: "the connection closed before a response") }
            buffer += chunk
            headEnd = find(buffer)
            if headEnd == nil, buffer.count > 65536 { throw FetchError(message: "response head longer than 64 KiB") }
        }
        guard let headEnd else { throw FetchError(message: "no response") }
        let head = String(decoding: buffer[0..<headEnd], as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.first?.split(separator: " ", maxSplits: 2) ?? []
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else {
            throw FetchError(message: "not an HTTP response")
        }
        var response = Response(status: status, reason: statusLine.count > 2 ? String(statusLine[2]) : "", body: [], bytes: 0)
        var length: Int?
        for line in lines.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "content-length" { length = Int(parts[1].trimmingCharacters(in: .whitespaces)) }
        }
        if headOnly { return response }
        var rest = Array(buffer[(headEnd + 4)...])
        while true {
            response.bytes += rest.count
            response.body += rest.prefix(max(0, FetchTool.maxBodyText - response.body.count))
            if let length, response.bytes >= length { break }
            if response.bytes >= FetchTool.maxRead { break }
            rest = try connection.receive()
            if rest.isEmpty { break }
        }
        return response
    }

    private static func find(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
    }

    func result(for url: String) -> ToolResult {
        let text = String(decoding: body, as: UTF8.self)
        let structured: JSONValue = .object([("status", .integer(status)), ("bytes", .integer(bytes))])
        guard (200...299).contains(status) else {
            return ToolResult(
                text: "fetch \(url) refused: HTTP \(status) \(reason): \(text.prefix(500))", structured: structured, isError: true)
        }
        let truncated = bytes > body.count ? " (first \(body.count) shown)" : ""
        return ToolResult(text: "HTTP \(status), \(bytes) bytes\(truncated)\n\n\(text)", structured: structured)
    }
}
