import Testing

@testable import HTTP

@Suite(.timeLimit(.minutes(1))) struct SSEParserTests {
    private func parse(_ text: String, parser: SSEParser = SSEParser()) throws -> [SSEEvent] {
        var parser = parser
        return try parser.feed(Array(text.utf8))
    }

    /// The events of `bytes` fed in the given pieces.
    private func parse(_ bytes: [UInt8], splitAt splits: [Int], parser: SSEParser = SSEParser()) throws -> [SSEEvent] {
        var parser = parser
        var events: [SSEEvent] = []
        var start = 0
        for split in splits + [bytes.count] {
            events += try parser.feed(bytes[start..<split])
            start = split
        }
        return events
    }

    private func failure(_ bytes: [UInt8], parser: SSEParser) -> SSEParseError? {
        var parser = parser
        do {
            _ = try parser.feed(bytes)
            _ = try parser.feed([])
            return nil
        } catch {
            #expect(parser.failure == error)
            return error
        }
    }

    // MARK: The standard's examples (WHATWG HTML §9.2.6)

    @Test func joinsDataLinesWithNewlines() throws {
        #expect(try parse("data: YHOO\ndata: +2\ndata: 10\n\n") == [SSEEvent(data: "YHOO\n+2\n10")])
    }

    @Test func tracksTheLastEventID() throws {
        let text = ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n"
        #expect(
            try parse(text) == [
                SSEEvent(data: "first event", id: "1"), SSEEvent(data: "second event", id: ""), SSEEvent(data: " third event", id: ""),
            ])
        // An id persists into later events, and across a reconnection when handed on.
        var parser = SSEParser(lastEventID: "41")
        #expect(try parser.feed(Array("data: a\n\nid: 42\ndata: b\n\ndata: c\n\nid: 43\n\n".utf8)).map(\.id) == ["41", "42", "42"])
        #expect(parser.lastEventID == "43")
        // An id holding NUL is ignored.
        #expect(try parse("id: 1\ndata: a\n\nid: 2\u{0}\ndata: b\n\n").map(\.id) == ["1", "1"])
    }

    @Test func dispatchesOnlyEventsWithData() throws {
        #expect(try parse("data\n\ndata\ndata\n\ndata:") == [SSEEvent(data: ""), SSEEvent(data: "\n")])
        #expect(try parse("data:test\n\ndata: test\n\n") == [SSEEvent(data: "test"), SSEEvent(data: "test")])
        #expect(try parse("event: x\nid: 5\n\n: comment\n\nfoo: bar\n\n").isEmpty)
    }

    @Test func readsTheEventTypeAndIgnoresUnknownFields() throws {
        let events = try parse("event: update\nfoo: bar\nData: no\ndata: a\n\nevent:\ndata: b\n\ndata: c\nevent: late\n\ndata: d\n\n")
        #expect(
            events == [SSEEvent(event: "update", data: "a"), SSEEvent(data: "b"), SSEEvent(event: "late", data: "c"), SSEEvent(data: "d")])
    }

    @Test func readsRetryWhenItIsDigitsOnly() throws {
        var parser = SSEParser()
        let events = try parser.feed(Array("retry: 1500\ndata: a\n\nretry: 15x\ndata: b\n\nretry: -1\nretry:\nretry:  7\ndata: c\n\n".utf8))
        #expect(events.map(\.retry) == [1500, nil, nil])
        #expect(parser.retry == 1500)
        // A retry alone dispatches nothing but still sets the stream's reconnection time.
        #expect(try parser.feed(Array("retry: 3000\n\n".utf8)).isEmpty)
        #expect(parser.retry == 3000)
        #expect(try parser.feed(Array("retry: 99999999999999999999999\n\n".utf8)).isEmpty)
        #expect(parser.retry == 3000)
    }

    @Test func ignoresComments() throws {
        #expect(try parse(": keep-alive\n\n:\n\n:data: x\n\n").isEmpty)
        #expect(try parse("data: a\n: between\ndata: b\n\n") == [SSEEvent(data: "a\nb")])
    }

    @Test func keepsDataBytesAsSent() throws {
        let events = try parse("data: caf\u{E9} \u{1F600}: x\n\n")
        #expect(events.first?.text == "caf\u{E9} \u{1F600}: x")
        var invalid = SSEParser()
        let raw = try invalid.feed(Array("data: ".utf8) + [0xFF, 0x61] + Array("\n\n".utf8))
        #expect(raw.first?.data == [0xFF, 0x61])
        #expect(raw.first?.text == "\u{FFFD}a")
    }

    // MARK: Line endings, chunking and the BOM

    @Test func treatsCRAndLFAndCRLFAlike() throws {
        let lf = "id: 1\nevent: e\ndata: a\ndata: b\n\n: c\ndata: x\n\ndata\n\n"
        let expected = try parse(lf)
        #expect(expected.count == 3)
        for ending in ["\r\n", "\r"] {
            #expect(try parse(lf.replacing("\n", with: ending)) == expected)
        }
        // Mixed: CR then LF is one ending, LF then CR two, CR CR two.
        #expect(try parse("data: a\r\ndata: b\n\rdata: c\r\r") == [SSEEvent(data: "a\nb"), SSEEvent(data: "c")])
    }

    /// Every split point of a stream with every kind of line ending, and byte by byte: the same
    /// events (a CR at the end of one piece and an LF at the start of the next are one ending).
    @Test func givesTheSameEventsHoweverTheStreamIsSplit() throws {
        let text = "\u{FEFF}data: a\r\ndata: b\r\r\ndata: c\rid: 7\r\rdata: d\n\r\n: x\r\nevent: e\r\ndata:\r\n\r\n"
        let bytes = Array(text.utf8)
        let expected = try parse(bytes, splitAt: [])
        #expect(
            expected == [
                SSEEvent(data: "a\nb"), SSEEvent(data: "c", id: "7"), SSEEvent(data: "d", id: "7"), SSEEvent(event: "e", data: "", id: "7"),
            ])
        for split in 0...bytes.count {
            #expect(try parse(bytes, splitAt: [split]) == expected, "split at \(split)")
            for second in split...bytes.count {
                #expect(try parse(bytes, splitAt: [split, second]) == expected, "split at \(split) and \(second)")
            }
        }
        #expect(try parse(bytes, splitAt: Array(1..<bytes.count)) == expected)
    }

    @Test func skipsOneLeadingBOM() throws {
        #expect(try parse("\u{FEFF}data: a\n\n") == [SSEEvent(data: "a")])
        // Only one, and only at the start: a second BOM is part of the field name.
        #expect(try parse("\u{FEFF}\u{FEFF}data: a\n\n").isEmpty)
        #expect(try parse("data: \u{FEFF}a\n\n") == [SSEEvent(data: "\u{FEFF}a")])
        // Split inside the BOM.
        let bytes = Array("\u{FEFF}data: b\n\n".utf8)
        #expect(try parse(bytes, splitAt: [1, 2]) == [SSEEvent(data: "b")])
        // A stream that starts like a BOM but is not one keeps its bytes.
        #expect(try parse([0xEF, 0xBB] + Array("\ndata: c\n\n".utf8), splitAt: [1]) == [SSEEvent(data: "c")])
        #expect(try parse([0xEF] + Array("data: c\n\n".utf8), splitAt: [1]).isEmpty)
    }

    @Test func reportsAPartialEvent() throws {
        var parser = SSEParser()
        #expect(!parser.hasPartialEvent)
        _ = try parser.feed(Array("data: a".utf8))
        #expect(parser.hasPartialEvent)
        _ = try parser.feed(Array("\n".utf8))
        #expect(parser.hasPartialEvent)
        #expect(try parser.feed(Array("\n".utf8)) == [SSEEvent(data: "a")])
        #expect(!parser.hasPartialEvent)
    }

    // MARK: Limits

    @Test func refusesALineOverTheLimit() {
        let parser = SSEParser(maxLineBytes: 16, maxDataBytes: 100)
        let error = failure(Array(("data: " + String(repeating: "x", count: 100)).utf8), parser: parser)
        #expect(error == SSEParseError(.lineTooLong, limit: 16, offset: 16))
        // At the limit: accepted.
        #expect(failure(Array(("data: " + String(repeating: "x", count: 10) + "\n\n").utf8), parser: parser) == nil)
        // Across chunks, and counted from the line's start in the stream.
        var chunked = parser
        _ = try? chunked.feed(Array("data: ok\n\n".utf8))
        var caught: SSEParseError?
        do {
            for _ in 0..<100 { _ = try chunked.feed(Array("y".utf8)) }
        } catch {
            caught = error
        }
        #expect(caught == SSEParseError(.lineTooLong, limit: 16, offset: 10 + 16))
    }

    @Test func refusesAMebibyteLineAtTheLimit() {
        let parser = SSEParser(maxLineBytes: 4096)
        let error = failure([UInt8](repeating: 0x61, count: 1 << 20), parser: parser)
        #expect(error?.kind == .lineTooLong)
        #expect(error?.offset == 4096)
        // A mebibyte of line endings is only blank lines: nothing kept, nothing dispatched.
        #expect(failure([UInt8](repeating: 0x0A, count: 1 << 20), parser: parser) == nil)
    }

    @Test func refusesDataOverTheLimit() {
        let parser = SSEParser(maxLineBytes: 100, maxDataBytes: 10)
        #expect(failure(Array("data: 1234\ndata: 56789\n\n".utf8), parser: parser) == nil)
        let error = failure(Array("data: 12345\ndata: 67890\n\n".utf8), parser: parser)
        #expect(error == SSEParseError(.dataTooLarge, limit: 10, offset: 12))
        #expect(error?.description == "Server-Sent Event with more than 10 bytes of data at byte 12")
        // The limit is per event.
        #expect(failure(Array(String(repeating: "data: 123456789\n\n", count: 50).utf8), parser: parser) == nil)
    }

    /// Events complete before the error are still delivered; the error comes next.
    @Test func deliversEventsBeforeAnError() throws {
        var parser = SSEParser(maxLineBytes: 8)
        let events = try parser.feed(Array("data: a\n\ndata: too long\n".utf8))
        #expect(events == [SSEEvent(data: "a")])
        #expect(parser.failure?.kind == .lineTooLong)
        #expect(throws: SSEParseError.self) { try parser.feed(Array("\n".utf8)) }
    }
}
