import Testing

@testable import HTTP

@Suite struct HTTPRequestParserTests {
    private func parse(_ text: String, limits: HTTPLimits = HTTPLimits()) throws -> [HTTPRequest] {
        var parser = HTTPRequestParser(limits: limits)
        return try parser.feed(Array(text.utf8))
    }

    private func failure(_ text: String, limits: HTTPLimits = HTTPLimits()) -> HTTPParseError? {
        var parser = HTTPRequestParser(limits: limits)
        do {
            _ = try parser.feed(Array(text.utf8))
            return nil
        } catch {
            return error
        }
    }

    @Test func parsesPipelinedRequestsWithBodiesAndQueries() throws {
        let requests = try parse(
            "GET /status?verbose=1&name=a%20b+c HTTP/1.1\r\nHost: x\r\n\r\n"
                + "POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Type: application/json\r\n\r\nhello")
        #expect(requests.count == 2)
        #expect(requests[0].path == "/status")
        #expect(requests[0].query == ["verbose": "1", "name": "a b c"])
        #expect(requests[0].header("host") == "x")
        #expect(requests[1].body == Array("hello".utf8))
        #expect(requests[1].keepAlive)
    }

    /// Bytes may arrive one at a time; the result must not depend on how they were split.
    @Test func acceptsAnyChunking() throws {
        let text = "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nTrailer: x\r\n\r\n"
        var parser = HTTPRequestParser()
        var requests: [HTTPRequest] = []
        for byte in text.utf8 { requests += try parser.feed([byte]) }
        #expect(requests.count == 1)
        #expect(requests.first?.body == Array("abcde".utf8))
        #expect(!parser.isMidRequest)
    }

    @Test(arguments: [
        ("GET / HTTP/1.1\nHost: x\r\n\r\n", 400, "line ends without CR"),
        ("GET  / HTTP/1.1\r\n\r\n", 400, "malformed request line"),
        ("GET / HTTP/2.0\r\n\r\n", 505, "unsupported version HTTP/2.0"),
        ("G@T / HTTP/1.1\r\n\r\n", 400, "invalid method"),
        ("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "invalid header name (whitespace before the colon?)"),
        ("GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n c\r\n\r\n", 400, "obsolete line folding"),
        ("GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400, "header line without a name and a colon"),
        (
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
            "both Content-Length and Transfer-Encoding"
        ),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, "invalid Content-Length"),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400, "invalid Content-Length"),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "transfer coding gzip is not supported"),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "invalid chunk size"),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n", 400, "invalid chunk size"),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n", 400, "invalid chunk size"),
        ("GET / HTTP/1.1\r\nHost: x\r\nA: b\u{7}c\r\n\r\n", 400, "control character in a header value"),
        ("GET / HTTP/1.1\r\nHost: x\r\nA: b\rc\r\n\r\n", 400, "bare CR in a line"),
    ])
    func refusesMalformedInputWithAStatus(text: String, status: Int, message: String) {
        let error = failure(text)
        #expect(error?.status == status)
        #expect(error?.message == message)
    }

    @Test func enforcesEveryLimitWithoutBufferingPastIt() {
        let small = HTTPLimits(requestLine: 20, headerBytes: 40, headerCount: 2, body: 10)
        #expect(failure("GET /" + String(repeating: "a", count: 100), limits: small)?.status == 414)
        #expect(failure("GET / HTTP/1.1\r\nHost: x\r\nA: " + String(repeating: "b", count: 100), limits: small)?.status == 431)
        #expect(failure("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits: small)?.status == 431)
        #expect(failure("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n", limits: small)?.status == 413)
        #expect(
            failure("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n", limits: small)?.status == 413)
    }

    @Test func knowsWhenTheConnectionCloses() throws {
        #expect(try parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").first?.keepAlive == false)
        #expect(try parse("GET / HTTP/1.0\r\n\r\n").first?.keepAlive == false)
        #expect(try parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").first?.keepAlive == true)
    }

    @Test func requiresExactlyOneHostOnHTTP11() {
        #expect(failure("GET / HTTP/1.1\r\n\r\n")?.message == "missing Host header")
        #expect(failure("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n")?.message == "more than one Host header")
        #expect(failure("GET / HTTP/1.0\r\n\r\n") == nil)
    }

    /// Trailers count against the header limits: a second header section after the body is no
    /// way around them.
    @Test func boundsTrailers() {
        let small = HTTPLimits(headerBytes: 100, headerCount: 3)
        let head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
        #expect(failure(head + "A: 1\r\nB: 2\r\n\r\n", limits: small)?.status == 431)
        #expect(failure(head + "A: " + String(repeating: "b", count: 200) + "\r\n\r\n", limits: small)?.status == 431)
        #expect(failure(head + "A: 1\r\n\r\n", limits: small) == nil)
        #expect(failure(head + "No colon\r\n\r\n", limits: small)?.message == "malformed trailer field")
        #expect(failure(head + "A: b\u{1}\r\n\r\n", limits: small)?.message == "malformed trailer field")
    }

    /// Empty lines before a request are allowed, but only up to the request-line limit, and the
    /// error comes at the limit, not after reading a megabyte of them.
    @Test func refusesAFloodOfEmptyLinesAtTheLimit() {
        let error = failure(String(repeating: "\r\n", count: 1 << 19))
        #expect(error?.status == 400)
        #expect(error?.message == "too many empty lines before a request")
        #expect((error?.offset ?? .max) <= 8192 + 2)
        #expect(failure("\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n") == nil)
    }

    /// `Connection` is a list of tokens: `close` among others, in any case, in any field.
    @Test func readsConnectionAsTokens() throws {
        #expect(try parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, CLOSE\r\n\r\n").first?.keepAlive == false)
        #expect(try parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: te\r\nConnection: close\r\n\r\n").first?.keepAlive == false)
        #expect(try parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: closed\r\n\r\n").first?.keepAlive == true)
        #expect(try parse("GET / HTTP/1.0\r\nConnection: foo,Keep-Alive\r\n\r\n").first?.keepAlive == true)
    }

    /// A line trickled in byte by byte is searched once, not again from its start on every byte.
    @Test func aTrickledLineIsParsedWhole() throws {
        var parser = HTTPRequestParser()
        var requests: [HTTPRequest] = []
        for byte in "GET /" + String(repeating: "a", count: 4000) + " HTTP/1.1\r\nHost: x\r\n\r\n" {
            requests += try parser.feed(Array(String(byte).utf8))
        }
        #expect(requests.count == 1)
        #expect(requests.first?.target.count == 4001)
    }

    @Test func http10WithTransferEncodingNeverKeepsTheConnection() throws {
        let requests = try parse("POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        #expect(requests.first?.keepAlive == false)
    }

    @Test func tracksThePhaseForDeadlines() throws {
        var parser = HTTPRequestParser()
        #expect(parser.phase == .idle)
        _ = try parser.feed(Array("POST / HTTP/1.1\r\nHost: x\r\n".utf8))
        #expect(parser.phase == .head)
        _ = try parser.feed(Array("Content-Length: 4\r\n\r\nab".utf8))
        #expect(parser.phase == .body)
        #expect(parser.buffered == 2)
        #expect(try parser.feed(Array("cdGET".utf8)).first?.body == Array("abcd".utf8))
        #expect(parser.phase == .head)
    }

    /// A long stream of pipelined requests is parsed with the buffer compacted along the way.
    @Test func parsesManyPipelinedRequestsFedInPieces() throws {
        var parser = HTTPRequestParser()
        let one = Array("GET /x HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        var count = 0
        var wire: [UInt8] = []
        for _ in 0..<500 { wire += one }
        var index = 0
        while index < wire.count {
            let end = min(index + 1000, wire.count)
            count += try parser.feed(wire[index..<end]).count
            index = end
        }
        #expect(count == 500)
        #expect(parser.buffered == 0)
    }

    @Test func reportsAPartialRequest() throws {
        var parser = HTTPRequestParser()
        #expect(!parser.isMidRequest)
        #expect(try parser.feed(Array("GET / HT".utf8)).isEmpty)
        #expect(parser.isMidRequest)
    }
}
