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
