import Testing

@testable import Actual

@Suite struct LineSplitterTests {
    @Test func splitsLinesAcrossChunks() {
        var splitter = LineSplitter(maxLength: 100)
        #expect(splitter.feed(Array("ab".utf8)) == [])
        #expect(splitter.feed(Array("c\nde\n\nf".utf8)) == [.line(Array("abc".utf8)), .line(Array("de".utf8)), .line([])])
        #expect(splitter.pending == 1)
        #expect(splitter.finish() == [.line(Array("f".utf8))])
        #expect(splitter.finish() == [])
    }

    /// An oversized line must be dropped while it streams in (memory stays bounded by the limit),
    /// reported once with its length, and the next line must come through intact.
    @Test func dropsAnOversizedLineAndResumes() {
        var splitter = LineSplitter(maxLength: 4)
        #expect(splitter.feed(Array("abc".utf8)) == [])
        #expect(splitter.feed(Array("defgh".utf8)) == [])
        #expect(splitter.pending == 0)
        #expect(splitter.feed(Array("ij\nok\n".utf8)) == [.oversized(10), .line(Array("ok".utf8))])
    }

    @Test func aLineOfExactlyTheLimitPasses() {
        var splitter = LineSplitter(maxLength: 4)
        #expect(splitter.feed(Array("abcd\nabcde\n".utf8)) == [.line(Array("abcd".utf8)), .oversized(5)])
    }

    @Test func anOversizedFinalLineIsReportedAtEnd() {
        var splitter = LineSplitter(maxLength: 2)
        _ = splitter.feed(Array("abcdef".utf8))
        #expect(splitter.finish() == [.oversized(6)])
    }
}

@Suite struct SSEParserTests {
    private func feed(_ parser: inout SSEParser, _ text: String) throws -> [String] {
        // Split bytes, not Characters: "\r\n" is one Character in Swift.
        try Array(text.utf8).split(separator: 0x0A, omittingEmptySubsequences: false).compactMap { line in
            try parser.feed(line: Array(line)).map { String(decoding: $0, as: UTF8.self) }
        }
    }

    @Test func joinsDataLinesAndSkipsCommentsAndOtherFields() throws {
        var parser = SSEParser(maxBytes: 1000)
        #expect(try feed(&parser, ": keep-alive\nevent: message\nid: 7\ndata: {\"a\":\ndata:1}\r\n\n") == ["{\"a\":\n1}"])
        #expect(try feed(&parser, "\n\n") == [])
    }

    /// Many data lines without the blank line that ends an event must not grow memory.
    @Test func anEventLargerThanTheLimitIsAnError() throws {
        var parser = SSEParser(maxBytes: 10)
        _ = try parser.feed(line: Array("data: 12345".utf8))
        #expect(throws: SSEParser.Overflow.self) { try parser.feed(line: Array("data: 67890".utf8)) }
    }
}
