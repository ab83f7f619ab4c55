import Testing

@testable import HTTP

@Suite(.timeLimit(.minutes(1))) struct HTTPResponseParserTests {
    /// Adjacent body pieces merged and empty ones dropped: the events' meaning, whatever the
    /// chunking.
    private static func normalized(_ events: [HTTPResponseEvent]) -> [HTTPResponseEvent] {
        var merged: [HTTPResponseEvent] = []
        for event in events {
            if case .body(let bytes) = event {
                if bytes.isEmpty { continue }
                if case .body(let previous)? = merged.last {
                    merged[merged.count - 1] = .body(previous + bytes)
                    continue
                }
            }
            merged.append(event)
        }
        return merged
    }

    private static func parser(_ methods: [String], limits: HTTPClientLimits) -> HTTPResponseParser {
        var parser = HTTPResponseParser(limits: limits, requestMethod: methods.first ?? "GET")
        for method in methods.dropFirst() { parser.expect(method: method) }
        return parser
    }

    /// The events of `text` fed whole, then (if `close`) the end of the connection.
    private func parse(
        _ text: String, methods: [String] = ["GET"], limits: HTTPClientLimits = HTTPClientLimits(), close: Bool = false
    ) throws -> [HTTPResponseEvent] {
        var parser = Self.parser(methods, limits: limits)
        var events = try parser.feed(Array(text.utf8))
        if close { events += try parser.finish() }
        return events
    }

    /// The same, fed one byte at a time.
    private func parseByteByByte(
        _ text: String, methods: [String] = ["GET"], limits: HTTPClientLimits = HTTPClientLimits(), close: Bool = false
    ) throws -> [HTTPResponseEvent] {
        var parser = Self.parser(methods, limits: limits)
        var events: [HTTPResponseEvent] = []
        for byte in text.utf8 { events += try parser.feed([byte]) }
        if close { events += try parser.finish() }
        return Self.normalized(events)
    }

    /// The error `text` ends in (fed whole, then an empty feed for an error deferred behind
    /// events, then `finish()` if `close`), or nil.
    private func failure(
        _ text: String, methods: [String] = ["GET"], limits: HTTPClientLimits = HTTPClientLimits(), close: Bool = false
    ) -> HTTPParseError? {
        var parser = Self.parser(methods, limits: limits)
        do {
            _ = try parser.feed(Array(text.utf8))
            _ = try parser.feed([])
            if close { _ = try parser.finish() }
            return nil
        } catch {
            #expect(parser.failure == error)
            #expect(!parser.isIdle)
            return error
        }
    }

    private static func body(_ text: String) -> HTTPResponseEvent { .body(Array(text.utf8)) }

    // MARK: Framing

    @Test func readsAContentLengthBody() throws {
        var parser = HTTPResponseParser()
        #expect(parser.isIdle)
        #expect(parser.pendingResponses == 1)
        let events = try parser.feed(Array("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello".utf8))
        let head = HTTPResponseHead(
            status: 200, reason: "OK", headers: [("Content-Type", "text/plain"), ("Content-Length", "5")], framing: .length(5))
        #expect(events == [.head(head), Self.body("hello"), .end])
        #expect(head.header("content-type") == "text/plain")
        #expect(head.header("CONTENT-LENGTH") == "5")
        #expect(head.header("missing") == nil)
        #expect(head.keepAlive)
        #expect(parser.isIdle)
        #expect(parser.pendingResponses == 0)
        #expect(try parser.finish().isEmpty)
    }

    /// Body bytes are handed on as they arrive, not held until the body is complete.
    @Test func streamsTheBodyAsItArrives() throws {
        var parser = HTTPResponseParser()
        let first = try parser.feed(Array("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhe".utf8))
        #expect(first.count == 2)
        #expect(first.last == Self.body("he"))
        #expect(!parser.isIdle)
        #expect(try parser.feed(Array("l".utf8)) == [Self.body("l")])
        #expect(try parser.feed(Array("lo".utf8)) == [Self.body("lo"), .end])
        #expect(parser.isIdle)
    }

    @Test func readsAChunkedBodyWithExtensionsAndTrailers() throws {
        let text =
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "3;name=value\r\nabc\r\n2 ; a ; b=\"q;x\"\r\nde\r\nA\r\n0123456789\r\n000\r\nX-Trailer: t\r\nOther:  u \r\n\r\n"
        let events = try parse(text)
        #expect(
            events == [
                .head(HTTPResponseHead(status: 200, reason: "OK", headers: [("Transfer-Encoding", "chunked")], framing: .chunked)),
                Self.body("abcde0123456789"), .end,
            ])
        #expect(try parseByteByByte(text) == events)
        // Upper-case hex digits, leading zeros, an empty trailer section.
        #expect(
            try parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n0001\r\nx\r\n0\r\n\r\n").dropFirst() == [Self.body("x"), .end])
        #expect(
            try parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1B\r\n\(String(repeating: "y", count: 27))\r\n0\r\n\r\n")
                .dropFirst() == [Self.body(String(repeating: "y", count: 27)), .end])
    }

    @Test func readsABodyUntilTheServerCloses() throws {
        var parser = HTTPResponseParser()
        let events = try parser.feed(Array("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nabc".utf8))
        guard case .head(let head)? = events.first else {
            Issue.record("no head: \(events)")
            return
        }
        #expect(head.framing == .untilClose)
        #expect(!head.keepAlive)
        #expect(events.dropFirst() == [Self.body("abc")])
        #expect(try parser.feed(Array("def".utf8)) == [Self.body("def")])
        #expect(try parser.finish() == [.end])
        #expect(try parser.finish() == [])
        #expect(throws: HTTPParseError.self) { try parser.feed(Array("more".utf8)) }
        #expect(parser.failure?.message == "data after the connection closed")
    }

    @Test func readsNoBodyForHeadAnd204And304WhateverTheHeadersSay() throws {
        let events = try parse(
            "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
                + "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n"
                + "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
                + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            methods: ["HEAD", "GET", "GET", "GET", "GET"])
        #expect(
            events == [
                .head(HTTPResponseHead(status: 200, reason: "OK", headers: [("Content-Length", "100")])), .end,
                .head(HTTPResponseHead(status: 204, reason: "No Content", headers: [("Content-Length", "7")])), .end,
                .head(HTTPResponseHead(status: 304, reason: "Not Modified", headers: [("Transfer-Encoding", "chunked")])), .end,
                .head(HTTPResponseHead(status: 200, reason: "OK", headers: [("Content-Length", "0")])), .end,
                .head(HTTPResponseHead(status: 200, reason: "OK", headers: [("Content-Length", "2")], framing: .length(2))),
                Self.body("ok"), .end,
            ])
    }

    @Test func skipsInterimResponses() throws {
        let text =
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
            + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        let events = try parse(text)
        #expect(
            events == [
                .head(HTTPResponseHead(status: 200, reason: "OK", headers: [("Content-Length", "2")], framing: .length(2))),
                Self.body("ok"), .end,
            ])
        #expect(try parseByteByByte(text) == events)
        // An interim response is part of the response: the server may not stop after it.
        #expect(failure("HTTP/1.1 100 Continue\r\n\r\n", close: true)?.message == "connection closed in the middle of a response")
        let many = String(repeating: "HTTP/1.1 100 Continue\r\n\r\n", count: 3)
        #expect(failure(many, limits: HTTPClientLimits(interimResponses: 2))?.message == "more than 2 interim responses")
    }

    @Test func acceptsAStatusLineWithoutAReasonAndStrayEmptyLinesBeforeIt() throws {
        let events = try parse("\r\n\r\nHTTP/1.1 404\r\nContent-Length: 0\r\n\r\n")
        #expect(events == [.head(HTTPResponseHead(status: 404, headers: [("Content-Length", "0")])), .end])
        let reason = try parse("HTTP/1.0 500 Internal \t Error \u{E9}\r\n\r\n", close: true)
        #expect(
            reason.first
                == .head(HTTPResponseHead(status: 500, reason: "Internal \t Error \u{E9}", version: "HTTP/1.0", framing: .untilClose)))
    }

    @Test func acceptsRepeatedIdenticalContentLengths() throws {
        let listed = try parse("HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\nabc")
        #expect(listed.dropFirst() == [Self.body("abc"), .end])
        let repeated = try parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\ncontent-length:3\r\n\r\nabc")
        #expect(repeated.dropFirst() == [Self.body("abc"), .end])
    }

    // MARK: Chunking and keep-alive

    /// Several responses of every framing: the events must not depend on how bytes were split.
    @Test func byteByByteFeedingEqualsWholeFeeding() throws {
        let text =
            "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
            + "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n"
            + "4;x=y\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nT: 1\r\n\r\n"
            + "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"
            + "\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
            + "HTTP/1.0 200 OK\r\n\r\nuntil the end\r\n\r\n"
        let methods = ["HEAD", "POST", "GET", "GET", "GET"]
        let whole = try parse(text, methods: methods, close: true)
        #expect(whole.count == 13)
        #expect(whole.filter { $0 == .end }.count == 5)
        #expect(whole.contains(Self.body("Wikipedia in\r\n\r\nchunks.")))
        #expect(whole.last(where: { if case .body = $0 { true } else { false } }) == Self.body("until the end\r\n\r\n"))
        #expect(try parseByteByByte(text, methods: methods, close: true) == whole)
        // And split at every point into two reads.
        let bytes = Array(text.utf8)
        for split in 0...bytes.count {
            var parser = Self.parser(methods, limits: HTTPClientLimits())
            let events = try parser.feed(bytes[..<split]) + parser.feed(bytes[split...]) + parser.finish()
            #expect(Self.normalized(events) == whole, "split at \(split)")
        }
    }

    @Test func readsPipelinedResponsesBackToBack() throws {
        var parser = HTTPResponseParser(requestMethod: "POST")
        parser.expect(method: "GET")
        parser.expect(method: "DELETE")
        #expect(parser.pendingResponses == 3)
        let events = try parser.feed(
            Array(
                ("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"
                    + "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n"
                    + "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb").utf8))
        #expect(events.map { if case .head(let head) = $0 { head.status } else { 0 } } == [202, 0, 200, 0, 0, 200, 0, 0])
        #expect(Self.normalized(events).filter { if case .body = $0 { true } else { false } } == [Self.body("a"), Self.body("b")])
        #expect(parser.isIdle)
        #expect(parser.pendingResponses == 0)
        // The connection is reused: the next request's response.
        parser.expect(method: "GET")
        #expect(try parser.feed(Array("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc".utf8)).last == .end)
    }

    @Test func saysWhetherTheConnectionStaysOpen() throws {
        func head(_ text: String) throws -> HTTPResponseHead? {
            guard case .head(let head)? = try parse(text).first else { return nil }
            return head
        }
        #expect(try head("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")?.keepAlive == true)
        #expect(try head("HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n")?.keepAlive == false)
        #expect(try head("HTTP/1.1 200 OK\r\nConnection: upgrade, close\r\nContent-Length: 0\r\n\r\n")?.keepAlive == false)
        #expect(try head("HTTP/1.1 200 OK\r\nConnection: closed\r\nContent-Length: 0\r\n\r\n")?.keepAlive == true)
        #expect(try head("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")?.keepAlive == false)
        #expect(try head("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n")?.keepAlive == true)
        #expect(try head("HTTP/1.1 200 OK\r\n\r\n")?.keepAlive == false)
    }

    // MARK: Errors

    @Test(arguments: [
        ("HTTP/1.1 200OK\r\n\r\n", "malformed status line"),
        ("HTTP/2 200 OK\r\n\r\n", "malformed status line"),
        ("HTTP/2.0 200 OK\r\n\r\n", "malformed status line"),
        ("HTTP/1.1 20 OK\r\n\r\n", "malformed status line"),
        ("HTTP/1.1  200 OK\r\n\r\n", "malformed status line"),
        ("http/1.1 200 OK\r\n\r\n", "malformed status line"),
        ("ICY 200 OK\r\n\r\n", "malformed status line"),
        ("HTTP/1.1 099 Low\r\n\r\n", "status 99 outside 100...599"),
        ("HTTP/1.1 600 High\r\n\r\n", "status 600 outside 100...599"),
        ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", "101 Switching Protocols is not supported"),
        ("HTTP/1.1 200 O\u{1}K\r\n\r\n", "control character in the reason phrase"),
        ("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", "line ends without CR"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n", "line ends without CR"),
        ("\nHTTP/1.1 200 OK\r\n\r\n", "line ends without CR"),
        ("HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n", "bare CR in a line"),
        ("HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", "obsolete line folding"),
        ("HTTP/1.1 200 OK\r\nA: b\r\n\tc\r\n\r\n", "obsolete line folding"),
        ("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", "header line without a name and a colon"),
        ("HTTP/1.1 200 OK\r\n: value\r\n\r\n", "header line without a name and a colon"),
        ("HTTP/1.1 200 OK\r\nName : value\r\n\r\n", "invalid header name (whitespace before the colon?)"),
        ("HTTP/1.1 200 OK\r\nNa(me: value\r\n\r\n", "invalid header name (whitespace before the colon?)"),
        ("HTTP/1.1 200 OK\r\nA: b\u{0}c\r\n\r\n", "control character in a header value"),
        ("HTTP/1.1 200 OK\r\nA: b\u{7F}\r\n\r\n", "control character in a header value"),
        ("HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", "invalid Content-Length \"abc\""),
        ("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "invalid Content-Length \"-1\""),
        ("HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n", "invalid Content-Length \"+5\""),
        ("HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n", "invalid Content-Length \"0x10\""),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n", "invalid Content-Length \"1 2\""),
        ("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", "invalid Content-Length \"\""),
        ("HTTP/1.1 200 OK\r\nContent-Length: 5,\r\n\r\n", "invalid Content-Length \"\""),
        ("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", "invalid Content-Length \"99999999999999999999\""),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "conflicting Content-Length values"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n", "conflicting Content-Length values"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", "both Content-Length and Transfer-Encoding"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", "both Content-Length and Transfer-Encoding"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "transfer coding gzip is not supported"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "transfer coding gzip, chunked is not supported"),
        (
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            "transfer coding chunked, chunked is not supported"
        ),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n\r\n", "transfer coding  is not supported"),
        ("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "Transfer-Encoding in an HTTP/1.0 response"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "invalid chunk size"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n", "invalid chunk size"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n", "invalid chunk size"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n", "invalid chunk size"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5x\r\nhello\r\n", "invalid chunk size"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n", "invalid chunk size"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n", "invalid chunk size"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", "invalid chunk size"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a\u{1}\r\nhello\r\n", "control character in a chunk extension"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", "chunk size too large"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n", "chunk data not followed by CRLF"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\rx", "chunk data not followed by CRLF"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad Trailer\r\n\r\n", "trailer line without a name and a colon"),
    ])
    func refusesMalformedResponses(text: String, message: String) {
        let error = failure(text)
        #expect(error?.status == 502)
        #expect(error?.message == message)
        // The same error whatever the chunking.
        var parser = HTTPResponseParser()
        var byteError: HTTPParseError?
        do {
            for byte in text.utf8 { _ = try parser.feed([byte]) }
            _ = try parser.feed([])
        } catch {
            byteError = error
        }
        #expect(byteError?.message == message)
    }

    @Test func refusesAResponseNoRequestAskedFor() throws {
        var parser = HTTPResponseParser()
        // Junk after a complete response: the response is still delivered, the error follows.
        let events = try parser.feed(Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n".utf8))
        #expect(events.last == .end)
        #expect(!parser.isIdle)
        #expect(parser.failure?.message == "response without a request")
        #expect(parser.failure?.offset == 0)
        #expect(throws: HTTPParseError.self) { try parser.feed([]) }
        #expect(throws: HTTPParseError.self) { try parser.finish() }
        // With nothing pending, the first byte of a response is enough to tell.
        var idle = HTTPResponseParser()
        _ = try idle.feed(Array("HTTP/1.1 204 No Content\r\n\r\n".utf8))
        #expect(idle.isIdle)
        #expect(throws: HTTPParseError.self) { try idle.feed(Array("H".utf8)) }
    }

    @Test func refusesA2xxToConnect() {
        #expect(
            failure("HTTP/1.1 200 Connection Established\r\n\r\n", methods: ["CONNECT"])?.message
                == "tunnels (2xx to CONNECT) are not supported")
    }

    @Test func refusesAConnectionClosedMidResponse() throws {
        for partial in [
            "HTTP/1.1 200", "HTTP/1.1 200 OK\r\nA: b\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
        ] {
            let error = failure(partial, close: true)
            #expect(error?.message == "connection closed in the middle of a response", "\(partial)")
            #expect(error?.offset == partial.utf8.count)
        }
        // Between responses a close is no error, even when one was awaited (the caller knows).
        var parser = HTTPResponseParser()
        #expect(try parser.feed(Array("\r\n".utf8)).isEmpty)
        #expect(try parser.finish().isEmpty)
    }

    /// An error's offset counts from the start of its own response, not of the connection.
    @Test func countsOffsetsFromTheStartOfTheResponse() {
        let first = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
        let error = failure(first + "HTTP/1.1 200 OK\r\nBad\r\n\r\n", methods: ["GET", "GET"])
        #expect(error?.message == "header line without a name and a colon")
        #expect(error?.offset == 17)
    }

    // MARK: Limits

    @Test func enforcesTheHeadLimits() {
        let small = HTTPClientLimits(statusLine: 20, headerBytes: 40, headerCount: 2)
        let long = failure("HTTP/1.1 200 " + String(repeating: "a", count: 100), limits: small)
        #expect(long?.message == "status line longer than 20 bytes")
        #expect(long?.offset == 20)
        #expect(
            failure("HTTP/1.1 200 OK\r\nA: " + String(repeating: "b", count: 100), limits: small)?.message
                == "header section longer than 40 bytes")
        #expect(failure("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits: small)?.message == "more than 2 headers")
        #expect(
            failure("HTTP/1.1 200 OK\r\nA: 123456789012345678\r\nB: 123456789012345678\r\n\r\n", limits: small)?.message
                == "header section longer than 40 bytes")
        // At the limits exactly (20 bytes of status line, 40 of headers before the final CRLF): accepted.
        #expect(failure("HTTP/1.1 200 OK34567\r\nA: 1\r\nB: 12345678901234567890123456789\r\n\r\n", limits: small) == nil)
    }

    @Test func enforcesTheTrailerAndChunkLineLimits() {
        let small = HTTPClientLimits(chunkLine: 16, trailerCount: 2, trailerBytes: 30)
        let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(failure(chunked + "0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits: small)?.message == "more than 2 trailers")
        #expect(failure(chunked + "0\r\nA: 1\r\nB: 2\r\n\r\n", limits: small) == nil)
        #expect(
            failure(chunked + "0\r\nA: " + String(repeating: "x", count: 40), limits: small)?.message
                == "trailer section longer than 30 bytes")
        #expect(
            failure(chunked + "1;" + String(repeating: "x", count: 40), limits: small)?.message == "chunk size line longer than 16 bytes")
        #expect(failure(chunked + "1;" + String(repeating: "x", count: 14) + "\r\na\r\n0\r\n\r\n", limits: small) == nil)
    }

    @Test func enforcesTheBodyLimitOnlyWhenAsked() throws {
        let limited = HTTPClientLimits(maxBody: 10)
        #expect(failure("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", limits: limited)?.message == "body of 11 bytes is longer than 10")
        #expect(failure("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", limits: limited) == nil)
        let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(failure(chunked + "8\r\n01234567\r\n3\r\n", limits: limited)?.message == "body longer than 10 bytes")
        #expect(failure(chunked + "8\r\n01234567\r\n2\r\n89\r\n0\r\n\r\n", limits: limited) == nil)
        let untilClose = failure("HTTP/1.1 200 OK\r\n\r\n" + String(repeating: "z", count: 11), limits: limited)
        #expect(untilClose?.message == "body longer than 10 bytes")
        #expect(untilClose?.offset == 19 + 10)
        // Unlimited by default: a stream of 4 MiB in 64 KiB reads.
        var parser = HTTPResponseParser()
        var received = 0
        _ = try parser.feed(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".utf8))
        let chunk = Array("10000\r\n".utf8) + [UInt8](repeating: 0x61, count: 1 << 16) + Array("\r\n".utf8)
        for _ in 0..<64 {
            for event in try parser.feed(chunk) { if case .body(let bytes) = event { received += bytes.count } }
        }
        #expect(received == 1 << 22)
        #expect(try parser.feed(Array("0\r\n\r\n".utf8)) == [.end])
    }

    /// Hostile input is refused at the limit, not after reading it all (no timing here: the
    /// offset shows where reading stopped).
    @Test func refusesAMebibyteOfEmptyLinesOrOfOneHeaderAtTheLimit() {
        let limits = HTTPClientLimits()
        let empty = failure(String(repeating: "\r\n", count: 1 << 19), limits: limits)
        #expect(empty?.message == "more than \(limits.statusLine) bytes of empty lines")
        #expect((empty?.offset ?? .max) <= limits.statusLine + 2)
        let statusLine = "HTTP/1.1 200 OK\r\n"
        let header = failure(statusLine + "X-Long: " + String(repeating: "a", count: 1 << 20), limits: limits)
        #expect(header?.message == "header section longer than \(limits.headerBytes) bytes")
        #expect((header?.offset ?? .max) <= statusLine.utf8.count + limits.headerBytes + 2)
        let status = failure("HTTP/1.1 200 " + String(repeating: "a", count: 1 << 20), limits: limits)
        #expect((status?.offset ?? .max) <= limits.statusLine + 2)
    }

    /// A long line fed a byte at a time is searched once, not once per byte: with a 1 MiB
    /// header section that would be half a trillion steps, and the suite's time limit stops it.
    @Test func searchesALongLineFedByteByByteOnlyOnce() async throws {
        var parser = HTTPResponseParser(limits: HTTPClientLimits(headerBytes: 1 << 20))
        _ = try parser.feed(Array("HTTP/1.1 200 OK\r\nX-Long: ".utf8))
        var error: HTTPParseError?
        var fed = 0
        while error == nil, fed < 1 << 21 {
            // The time limit cancels the test; a loop that never looked would run on.
            if fed % 256 == 0 { try Task.checkCancellation() }
            do {
                _ = try parser.feed(CollectionOfOne(0x61))
            } catch let caught {
                error = caught
            }
            fed += 1
        }
        #expect(error?.message == "header section longer than 1048576 bytes")
        #expect(error?.offset == 17 + (1 << 20) - 2)
    }
}
