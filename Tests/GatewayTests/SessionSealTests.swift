import Desired
import JSON
import Synchronization
import Testing

@testable import Gateway

/// Sealed legacy session ids: HMAC-SHA-256 (RFC 4231 vectors), base64url, and a table that takes
/// a genuine id back after a restart but never a forged, altered, ended or expired one.
@Suite struct SessionSealTests {
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { TraceContext.hex(UInt64($0), digits: 2) }.joined() }

    @Test func hmacMatchesRFC4231() {
        let one = HMAC.sha256(key: Array(repeating: 0x0b, count: 20), message: Array("Hi There".utf8))
        #expect(SessionSealTests.hex(one) == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        let two = HMAC.sha256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(SessionSealTests.hex(two) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        // A key longer than a block is hashed first (test case 6).
        let six = HMAC.sha256(
            key: Array(repeating: 0xaa, count: 131), message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8))
        #expect(SessionSealTests.hex(six) == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        #expect(HMAC.equal(one, one) && !HMAC.equal(one, two) && !HMAC.equal(one, Array(one.dropLast())))
    }

    @Test func base64URLRoundTripsAndRefusesWhatItDidNotWrite() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(($0 * 37 + length) & 0xFF) }
            let text = Base64URL.encode(bytes)
            #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
            #expect(Base64URL.decode(text) == bytes)
        }
        #expect(Base64URL.encode(Array("hi?".utf8)) == "aGk_")
        #expect(Base64URL.decode("aGk/") == nil)
        #expect(Base64URL.decode("aGl") == nil)  // non-zero leftover bits
        #expect(Base64URL.decode("a") == nil)
    }

    static let client = ClientContext(
        era: .legacy, version: "2025-06-18", capabilities: .object([("roots", .object([("listChanged", true)]))]),
        info: .object([("name", "ide"), ("version", "1")]), logLevel: nil)

    final class WallClock: Sendable {
        let seconds = Mutex<Int64>(1_800_000_000)
        func advance(_ by: Int64) { seconds.withLock { $0 += by } }
        var now: Int64 { seconds.withLock { $0 } }
    }

    static func table(key: UInt8 = 1, clock: WallClock) -> LegacySessionTable {
        LegacySessionTable(
            idle: .seconds(60), limit: 10, seal: SessionSeal(key: Array(repeating: key, count: 32)), maxAge: .seconds(3600),
            wallClock: { clock.now })
    }

    @Test func aSealedIdCarriesTheSessionAndNothingElseOpensIt() throws {
        let seal = SessionSeal(key: Array(repeating: 1, count: 32))
        let contents = SessionSeal.Contents(server: "demo", client: SessionSealTests.client, issued: 1_800_000_000)
        let id = seal.seal(contents, nonce: "n1")
        #expect(id.hasPrefix("s1.") && id.utf8.allSatisfy { $0 >= 0x21 && $0 <= 0x7E })
        #expect(seal.open(id) == contents)
        #expect(seal.seal(contents, nonce: "n2") != id)
        // Another key, an altered payload or MAC, garbage: nothing.
        #expect(SessionSeal(key: Array(repeating: 2, count: 32)).open(id) == nil)
        let parts = id.split(separator: ".").map(String.init)
        let altered = parts[0] + "." + Base64URL.encode(Array(#"{"s":"other","v":"2025-06-18","c":{},"t":1800000000,"n":"x"}"#.utf8))
        #expect(seal.open(altered + "." + parts[2]) == nil)
        #expect(seal.open(parts[0] + "." + parts[1] + "." + Base64URL.encode(Array(repeating: 0, count: 32))) == nil)
        for junk in ["", "s1.", "s1..", "0123456789abcdef0123456789abcdef", "s1.!!!.???", id + "x"] { #expect(seal.open(junk) == nil) }
        // Huge capabilities shrink to their names; the info goes.
        let big = ClientContext(
            era: .legacy, version: "2025-06-18",
            capabilities: .object([("sampling", .object([("blob", .string(String(repeating: "x", count: 5000)))]))]),
            info: .object([("name", "ide")]), logLevel: nil)
        let small = try #require(seal.open(seal.seal(.init(server: "demo", client: big, issued: 1), nonce: "n")))
        #expect(small.client.capabilities == .object([("sampling", .object([]))]))
        #expect(small.client.info == nil)
        // Thousands of capability names: none are kept, and the id stays small.
        let many = ClientContext(
            era: .legacy, version: "2025-06-18", capabilities: .object((0..<5000).map { ("c\($0)", .object([])) }), info: nil,
            logLevel: nil)
        let manyID = seal.seal(.init(server: "demo", client: many, issued: 1), nonce: "n")
        #expect(manyID.utf8.count < 400)
        #expect(seal.open(manyID)?.client.capabilities == .object([]))
    }

    @Test func aRestartedTableTakesBackGenuineIdsOnly() {
        let clock = WallClock()
        var before = SessionSealTests.table(clock: clock)
        let id = before.mint(server: "demo", client: SessionSealTests.client)
        _ = before.open(id: id, server: "demo", client: SessionSealTests.client, now: 1)
        let ended = before.mint(server: "demo", client: SessionSealTests.client)
        _ = before.open(id: ended, server: "demo", client: SessionSealTests.client, now: 1)
        _ = before.close(ended)
        #expect(before.use(ended, server: "demo", now: 2) == nil)

        // The controller restarts: a new table with the same key.
        var after = SessionSealTests.table(clock: clock)
        let back = after.use(id, server: "demo", now: 5)
        #expect(back?.client == SessionSealTests.client)
        #expect(after.count == 1)
        #expect(after.use(id, server: "other", now: 5) == nil)
        #expect(SessionSealTests.table(key: 9, clock: clock).count == 0)
        var otherKey = SessionSealTests.table(key: 9, clock: clock)
        #expect(otherKey.use(id, server: "demo", now: 5) == nil)
        // An id that ended is recorded, and a table given the record refuses it.
        let recorded = Mutex<[String: Int64]>([:])
        var recording = LegacySessionTable(
            idle: .seconds(60), limit: 10, seal: SessionSeal(key: Array(repeating: 1, count: 32)), maxAge: .seconds(3600),
            wallClock: { clock.now }, recordEnded: { key, issued in recorded.withLock { $0[key] = issued } })
        #expect(recording.use(id, server: "demo", now: 6) != nil)
        #expect(recording.close(id) != nil)
        #expect(recorded.withLock { $0 } == [LegacySessionTable.endedKey(id): clock.now])
        var restarted = LegacySessionTable(
            idle: .seconds(60), limit: 10, seal: SessionSeal(key: Array(repeating: 1, count: 32)), maxAge: .seconds(3600),
            wallClock: { clock.now }, ended: recorded.withLock { $0 })
        #expect(restarted.use(id, server: "demo", now: 7) == nil)
        // Too old to come back.
        clock.advance(3601)
        var later = SessionSealTests.table(clock: clock)
        #expect(later.use(id, server: "demo", now: 5) == nil)
    }
}
