import Testing

@testable import HTTP

@Suite struct SSEEncoderTests {
    private func text(_ event: SSEEvent) throws -> String {
        String(decoding: try SSEEncoder.encode(event), as: UTF8.self)
    }

    private func refusal(_ event: SSEEvent) -> String? {
        do {
            _ = try SSEEncoder.encode(event)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func writesEveryFieldThenTheDataLinesThenABlankLine() throws {
        #expect(
            try text(SSEEvent(event: "message", data: "a\nb", id: "1", retry: 10))
                == "event: message\nid: 1\nretry: 10\ndata: a\ndata: b\n\n")
        #expect(try text(SSEEvent(data: "{\"jsonrpc\":\"2.0\"}")) == "data: {\"jsonrpc\":\"2.0\"}\n\n")
        // An empty event name is the default type: not written.
        #expect(try text(SSEEvent(event: "", data: "x")) == "data: x\n\n")
        // An empty id is written: it clears the reader's last event ID.
        #expect(try text(SSEEvent(data: "x", id: "")) == "id:\ndata: x\n\n")
    }

    @Test func splitsTheDataAtEveryKindOfLineEnding() throws {
        #expect(try text(SSEEvent(data: "a\r\nb\rc\nd")) == "data: a\ndata: b\ndata: c\ndata: d\n\n")
        #expect(try text(SSEEvent(data: "a\n\rb")) == "data: a\ndata:\ndata: b\n\n")
        #expect(try text(SSEEvent(data: "a\n")) == "data: a\ndata:\n\n")
        #expect(try text(SSEEvent(data: "\r\n")) == "data:\ndata:\n\n")
        // Empty data is still an event (MCP's priming event: an id and empty data).
        #expect(try text(SSEEvent(data: "", id: "s-0")) == "id: s-0\ndata:\n\n")
        // A leading space survives the reader's removal of one.
        #expect(try text(SSEEvent(data: " x")) == "data:  x\n\n")
    }

    @Test func writesComments() throws {
        #expect(SSEEncoder.keepAlive == Array(": keep-alive\n\n".utf8))
        #expect(try SSEEncoder.comment("hello") == Array(": hello\n\n".utf8))
        #expect(try SSEEncoder.comment("") == Array(":\n\n".utf8))
        #expect(throws: SSEEncoder.Invalid("comment holds CR or LF")) { try SSEEncoder.comment("a\nevent: x") }
        #expect(throws: SSEEncoder.Invalid("comment holds CR or LF")) { try SSEEncoder.comment("a\r") }
    }

    @Test(arguments: [
        (SSEEvent(event: "a\nb", data: "x"), "event name holds CR or LF"),
        (SSEEvent(event: "a\rb", data: "x"), "event name holds CR or LF"),
        (SSEEvent(data: "x", id: "1\r\ndata: injected"), "event id holds CR or LF"),
        (SSEEvent(data: "x", id: "1\u{0}"), "event id holds NUL"),
        (SSEEvent(data: "x", retry: -1), "retry -1 is negative"),
    ])
    func refusesFieldsThatWouldBreakTheStream(event: SSEEvent, message: String) {
        #expect(refusal(event) == message)
    }

    /// Encoder to parser: the same events back (data line endings as `\n`), however split.
    @Test func roundTripsThroughTheParser() throws {
        let events = [
            SSEEvent(data: "{\"jsonrpc\":\"2.0\",\"id\":1}", id: "s-1"),
            SSEEvent(event: "progress", data: "line one\nline two\n\nline four", id: "s-2", retry: 2500),
            SSEEvent(data: "", id: "s-3"),
            SSEEvent(data: " leading space, colon: and data: inside", id: "s-4"),
            SSEEvent(data: "caf\u{E9} \u{1F600}\n", id: "s-5"),
            SSEEvent(event: "end", data: "\n\n", id: ""),
        ]
        var stream = Array("\u{FEFF}".utf8) + SSEEncoder.keepAlive
        for event in events {
            stream += try SSEEncoder.encode(event)
            stream += try SSEEncoder.comment("between")
        }
        var whole = SSEParser()
        #expect(try whole.feed(stream) == events)
        #expect(whole.retry == 2500)
        for split in 0...stream.count {
            var parser = SSEParser()
            #expect(try parser.feed(stream[..<split]) + parser.feed(stream[split...]) == events, "split at \(split)")
        }
        var byByte = SSEParser()
        var received: [SSEEvent] = []
        for byte in stream { received += try byByte.feed([byte]) }
        #expect(received == events)
        // CR and CRLF in the data come back as LF.
        var parser = SSEParser()
        #expect(try parser.feed(SSEEncoder.encode(SSEEvent(data: "a\r\nb\rc"))) == [SSEEvent(data: "a\nb\nc")])
    }
}
