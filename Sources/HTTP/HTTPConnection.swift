import Dispatch
import Glibc

/// One client connection, served on a thread of its own with blocking I/O and socket timeouts.
struct HTTPConnection {
    let fd: Int32
    let limits: HTTPLimits
    let handler: HTTPServer.Handler
    /// Tells the server whether the connection is busy; returns false when it should close.
    let setBusy: (Bool) -> Bool

    func serve() {
        var parser = HTTPRequestParser(limits: limits)
        var pending: [HTTPRequest] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        var requestStarted: Double?
        while true {
            if pending.isEmpty {
                guard setBusy(parser.isMidRequest) else { return }
                // Between requests the idle timeout applies; within one, the read timeout, as a
                // deadline for the whole request (a client trickling bytes cannot extend it).
                let now = HTTPConnection.monotonic()
                let limit = parser.isMidRequest ? limits.readTimeout : limits.idleTimeout
                let deadline = (requestStarted ?? now) + HTTPConnection.seconds(limit)
                let left = parser.isMidRequest ? deadline - now : HTTPConnection.seconds(limit)
                if left <= 0 {
                    respond(HTTPResponse.text(408, "request timeout\n"), keepAlive: false)
                    return
                }
                setReceiveTimeout(left)
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if count < 0, errno == EINTR { continue }
                if count < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                    if parser.isMidRequest { respond(HTTPResponse.text(408, "request timeout\n"), keepAlive: false) }
                    return
                }
                guard count > 0 else { return }
                if !parser.isMidRequest { requestStarted = HTTPConnection.monotonic() }
                do {
                    pending = try parser.feed(buffer[0..<count])
                } catch {
                    respond(HTTPResponse.text(error.status, "\(error.message)\n"), keepAlive: false)
                    return
                }
                if parser.isMidRequest == false { requestStarted = nil }
                continue
            }
            let request = pending.removeFirst()
            _ = setBusy(true)
            let response = HTTPConnection.run(handler, request)
            let keepAlive = request.keepAlive && setBusy(true)
            guard respond(response, keepAlive: keepAlive, bodyless: request.method == "HEAD"), keepAlive else { return }
        }
    }

    /// Writes the response; false when the client went away.
    @discardableResult
    private func respond(_ response: HTTPResponse, keepAlive: Bool, bodyless: Bool = false) -> Bool {
        setSendTimeout(30)
        switch response.body {
        case .bytes(let bytes):
            // HEAD: the headers of the GET (Content-Length included), never the body, or a
            // keep-alive client would read the body as the next response.
            return HTTPConnection.writeAll(fd, response.head(keepAlive: keepAlive) + (bodyless ? [] : bytes))
        case .stream(let chunks):
            guard HTTPConnection.writeAll(fd, response.head(keepAlive: keepAlive)) else { return false }
            let fd = fd
            let delivered = HTTPConnection.runStream(chunks) { chunk in
                guard !chunk.isEmpty else { return true }
                return HTTPConnection.writeAll(fd, Array((String(chunk.count, radix: 16) + "\r\n").utf8) + chunk + [0x0D, 0x0A])
            }
            return delivered && HTTPConnection.writeAll(fd, Array("0\r\n\r\n".utf8))
        }
    }

    /// Runs the async handler from this connection's thread and waits for it.
    private static func run(_ handler: @escaping HTTPServer.Handler, _ request: HTTPRequest) -> HTTPResponse {
        let box = ResponseBox()
        let done = DispatchSemaphore(value: 0)
        Task {
            box.response = await handler(request)
            done.signal()
        }
        done.wait()
        return box.response ?? HTTPResponse.text(500, "no response\n")
    }

    /// Feeds a stream's chunks to `write` until the stream ends or a write fails.
    private static func runStream(_ chunks: AsyncStream<[UInt8]>, write: @escaping @Sendable ([UInt8]) -> Bool) -> Bool {
        let box = ResponseBox()
        let done = DispatchSemaphore(value: 0)
        Task {
            var ok = true
            for await chunk in chunks where !write(chunk) {
                ok = false
                break
            }
            box.delivered = ok
            done.signal()
        }
        done.wait()
        return box.delivered
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }

    private func setReceiveTimeout(_ seconds: Double) { setTimeout(SO_RCVTIMEO, seconds) }
    private func setSendTimeout(_ seconds: Double) { setTimeout(SO_SNDTIMEO, seconds) }

    private func setTimeout(_ option: Int32, _ seconds: Double) {
        let clamped = max(seconds, 0.001)
        var value = timeval(tv_sec: Int(clamped), tv_usec: Int((clamped - clamped.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    static func monotonic() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// Carries a result from a Task to the connection thread waiting on a semaphore.
private final class ResponseBox: @unchecked Sendable {
    // Written by the task before it signals the semaphore; read by the thread after waiting:
    // the semaphore orders the two.
    var response: HTTPResponse?
    var delivered = false
}
