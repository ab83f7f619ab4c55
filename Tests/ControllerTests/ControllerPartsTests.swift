import Actual
import Desired
import Foundation
import JSON
import Synchronization
import Testing

@testable import Controller

@Suite struct RedactorTests {
    @Test func masksSecretValuesAndTokenShapes() {
        let redactor = Redactor(secrets: ["hunter2-long", "abc", "hunter2-long-and-more"])
        #expect(redactor.redact("pw=hunter2-long-and-more x") == "pw=[REDACTED] x")
        #expect(redactor.redact("pw=hunter2-long") == "pw=[REDACTED]")
        // Too short to mask safely.
        #expect(redactor.redact("abc") == "abc")
        #expect(redactor.redact("token ghp_0123456789abcdefghijABCDEFGHIJ0123") == "token [REDACTED]")
        #expect(redactor.redact("Authorization: Bearer eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl") == "Authorization: [REDACTED]")
        #expect(redactor.redact("key AKIAABCDEFGHIJKLMNOP end") == "key [REDACTED] end")
        #expect(redactor.redact("nothing secret here") == "nothing secret here")
        #expect(redactor.redact("BASIC dXNlcjpwYXNzd29yZA== x") == "[REDACTED] x")
        #expect(redactor.redact("a xoxb-1234567890abc z") == "a [REDACTED] z")
        #expect(redactor.redact("sk-abcdefghijklmnopqrstuvwx") == "[REDACTED]")
    }

    /// The cheap pre-check never hides a token the patterns would find.
    @Test func thePrefixCheckSkipsOnlyTextNoPatternCanMatch() {
        for text in ["gh", "xox", "sk-", "AKIA", "eyJ", "Bearer", "bAsIc", "x github_pat_"] {
            #expect(Redactor.mayHoldToken(text), "\(text)")
        }
        for text in ["", "tools/call ok", "4bf92f3577b34da6a3ce929d0e0e4736", "demo#1", "modern", "b", "AKI"] {
            #expect(!Redactor.mayHoldToken(text), "\(text)")
        }
    }

    @Test func timestampsAreRFC3339UTCWithMilliseconds() {
        #expect(Logger.timestamp(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(Logger.timestamp(Date(timeIntervalSince1970: 1_796_240_914.7215)) == "2026-12-02T19:48:34.721Z")
        #expect(Logger.timestamp(Date(timeIntervalSince1970: 951_782_399.999)) == "2000-02-28T23:59:59.999Z")
        #expect(Logger.timestamp(Date(timeIntervalSince1970: 951_868_800)) == "2000-03-01T00:00:00.000Z")
        #expect(Logger.timestamp(Date(timeIntervalSince1970: -0.5)) == "1969-12-31T23:59:59.500Z")
        // The same text as Foundation's ISO 8601 style, which it replaces, across leap years.
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        for step in 0..<200 {
            let date = Date(timeIntervalSince1970: Double(step) * 7_654_321.125)
            #expect(Logger.timestamp(date) == date.formatted(style))
        }
    }

    @Test func logLinesAreJSONWithRedactedFields() throws {
        let lines = Mutex<[String]>([])
        let logger = Logger(level: .info) { line in lines.withLock { $0.append(line) } }
        logger.configure(level: .info, secrets: ["s3cr3t-value"])
        logger.log(.debug, "noise", "dropped below the level")
        logger.log(
            .warning, "probe_failed", "got s3cr3t-value", server: "demo", latency: .milliseconds(12), fields: [("extra", "s3cr3t-value")])
        let written = lines.withLock { $0 }
        #expect(written.count == 1)
        let record = try JSONParser.parse(written[0])
        #expect(record["level"] == "warning")
        #expect(record["srv"] == "demo")
        #expect(record["latency_ms"]?.doubleValue == 12)
        #expect(record["msg"] == "got [REDACTED]")
        #expect(record["extra"] == "[REDACTED]")
    }
}

@Suite struct DebouncerTests {
    actor Calls {
        var causes: [String] = []
        func add(_ cause: String) { causes.append(cause) }
    }

    /// Let the debouncer's task reach its sleep (or its call) before the clock moves.
    private func settle(_ clock: FakeClock, sleepers: Int = 1) async {
        for _ in 0..<10_000 where clock.sleeping < sleepers { await Task.yield() }
    }

    @Test func aBurstIsOneCallAfterTheQuietPeriod() async {
        let clock = FakeClock()
        let calls = Calls()
        let debouncer = Debouncer(quiet: .milliseconds(100), clock: clock) { await calls.add($0) }
        await debouncer.signal("a")
        await settle(clock)
        clock.advance(by: .milliseconds(60))
        await debouncer.signal("b")
        await settle(clock)
        clock.advance(by: .milliseconds(60))
        await settle(clock)
        #expect(await calls.causes.isEmpty)
        clock.advance(by: .milliseconds(60))
        for _ in 0..<10_000 where await calls.causes.isEmpty { await Task.yield() }
        #expect(await calls.causes == ["b"])
    }

    /// A saved file is applied at once; what follows within the quiet period is coalesced.
    @Test func aCompleteFileFiresAtOnceThenCoalesces() async {
        let clock = FakeClock()
        let calls = Calls()
        let debouncer = Debouncer(quiet: .milliseconds(100), clock: clock) { await calls.add($0) }
        await debouncer.signal("saved", immediate: true)
        for _ in 0..<10_000 where await calls.causes.isEmpty { await Task.yield() }
        #expect(await calls.causes == ["saved"])
        await debouncer.signal("saved again", immediate: true)
        await debouncer.signal("and again", immediate: true)
        await settle(clock)
        #expect(await calls.causes == ["saved"])
        clock.advance(by: .milliseconds(100))
        for _ in 0..<10_000 where await calls.causes.count < 2 { await Task.yield() }
        #expect(await calls.causes == ["saved", "and again"])
    }

    @Test func aContinuousStreamStillFiresWithinTheMaximumDelay() async {
        let clock = FakeClock()
        let calls = Calls()
        let debouncer = Debouncer(quiet: .milliseconds(100), maxDelay: .seconds(1), clock: clock) { await calls.add($0) }
        for step in 0..<20 {
            await debouncer.signal("edit \(step)")
            await settle(clock)
            clock.advance(by: .milliseconds(80))
            if await !calls.causes.isEmpty { break }
            await Task.yield()
        }
        for _ in 0..<10_000 where await calls.causes.isEmpty { await Task.yield() }
        #expect(await calls.causes.count == 1)
        #expect(clock.now <= .milliseconds(1200))
    }
}

@Suite struct AuditLogTests {
    @Test func appendsRecordsAndRotatesBySize() throws {
        let directory = NSTemporaryDirectory() + "omni-audit-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let audit = AuditLog(path: directory + "/audit.ndjson", maxSize: 200, keep: 2)
        audit.configure(secrets: ["topsecret"])
        for index in 0..<10 { audit.record("action", [("n", .int(index)), ("note", "topsecret")]) }
        audit.close()
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(files == ["audit.ndjson", "audit.ndjson.1", "audit.ndjson.2"])
        let current = try String(contentsOfFile: directory + "/audit.ndjson", encoding: .utf8)
        let last = try JSONParser.parse(String(current.split(separator: "\n").last ?? ""))
        #expect(last["n"] == 9)
        #expect(last["kind"] == "action")
        #expect(last["note"] == "[REDACTED]")
        for file in files {
            let size = (try FileManager.default.attributesOfItem(atPath: directory + "/" + file)[.size] as? Int) ?? 0
            #expect(size <= 200)
        }
    }
}

@Suite struct SmallPartsTests {
    @Test func watcherIgnoresEditorTempFiles() {
        for name in ["demo.yaml.swp", ".demo.yaml.swx", "demo.yaml~", "4913", ".#demo.yaml", "notes.txt"] {
            #expect(!FileWatcher.isRelevant(name, directory: "servers"), "\(name)")
        }
        for name in ["demo.yaml", "..data", "..2026_11_25_10_00_00.123"] { #expect(FileWatcher.isRelevant(name, directory: "servers")) }
        #expect(FileWatcher.isRelevant(".env", directory: ""))
        #expect(!FileWatcher.isRelevant("README.md", directory: ""))
    }

    @Test func metricsEscapeLabelValuesAndRenderIntegers() {
        #expect(Metrics.escape("a\"b\\c\nd") == "a\\\"b\\\\c\\nd")
        #expect(Metrics.number(3) == "3")
        #expect(Metrics.number(0.25) == "0.25")
    }

    @Test func specFingerprintsAreKeyedPerRun() {
        let one = SpecFingerprint()
        let other = SpecFingerprint()
        #expect(one.apply("abc") == one.apply("abc"))
        #expect(one.apply("abc") != one.apply("abd"))
        #expect(one.apply("abc") != other.apply("abc"))
        #expect(one.apply("abc").count == 16 && one.apply("abc").allSatisfy(\.isHexDigit))
    }
}
