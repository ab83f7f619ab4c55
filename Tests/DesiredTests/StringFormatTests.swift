import Desired
import Testing

@Suite struct StringFormatTests {
    @Test func durationsParseAndFormat() {
        #expect(DurationText.parse("500ms") == .milliseconds(500))
        #expect(DurationText.parse("5s") == .seconds(5))
        #expect(DurationText.parse("2m") == .seconds(120))
        #expect(DurationText.parse("1h") == .seconds(3600))
        for bad in ["", "5", "s", "5sec", "1.5s", "-1s", "5 s", "1234567890s"] {
            #expect(DurationText.parse(bad) == nil, "\(bad)")
        }
        #expect(DurationText.format(.milliseconds(1500)) == "1500ms")
        #expect(DurationText.format(.seconds(120)) == "2m")
        #expect(DurationText.format(.seconds(7200)) == "2h")
        #expect(DurationText.format(.zero) == "0s")
    }

    @Test func durationRangeIsChecked() {
        let format = StringFormat.duration(.seconds(1)...(.seconds(60)))
        #expect(format.check("30s") == nil)
        #expect(format.check("2m")?.message == "2m is out of range; it must be between 1s and 1m")
        #expect(format.check("thirty")?.message == "\"thirty\" is not a duration")
    }

    @Test func budgetsSizesAndPercentages() {
        #expect(Budget.parse("5/60s") == Budget(count: 5, window: .seconds(60)))
        #expect(Budget.parse("5/60s")?.description == "5/1m")
        for bad in ["0/60s", "5", "5/", "/60s", "05/60s", "5/60", "1234567/1s"] { #expect(Budget.parse(bad) == nil, "\(bad)") }
        #expect(ByteSize.parse("64MiB") == 64 << 20)
        #expect(ByteSize.parse("1GiB") == 1 << 30)
        #expect(ByteSize.parse("12B") == 12)
        #expect(ByteSize.parse("2KiB") == 2048)
        #expect(ByteSize.parse("64MB") == nil)
        #expect(Percent.parse("25%") == 25)
        #expect(Percent.parse("100%") == 100)
        for bad in ["0%", "101%", "25", "05%", "%"] { #expect(Percent.parse(bad) == nil, "\(bad)") }
    }

    @Test func hostPatterns() {
        for good in ["api.github.com", "*.slack.com", "localhost", "api.x.com:443", "10.0.0.1", "a-b.c"] {
            #expect(HostPattern.isValid(good), "\(good)")
        }
        for bad in ["*", "API.github.com", "-a.com", "a-.com", "a..com", "api.x.com/v1", "*.", "x.com:", "x.com:123456", "https://x.com"] {
            #expect(!HostPattern.isValid(bad), "\(bad)")
        }
        #expect(HostPattern.matches("*.slack.com", host: "files.slack.com"))
        #expect(!HostPattern.matches("*.slack.com", host: "slack.com"))
        #expect(HostPattern.matches("api.github.com:443", host: "api.github.com"))
    }

    @Test func urlsAndListenAddresses() {
        for good in ["http://127.0.0.1:8080/mcp", "https://mcp.example.com", "https://x.com/a?b=c"] {
            #expect(StringFormat.url.check(good) == nil, "\(good)")
        }
        for bad in ["ftp://x.com", "mcp.example.com", "http://", "http://x.com:port", "http://x y.com", "https://x.com/a b"] {
            #expect(StringFormat.url.check(bad) != nil, "\(bad)")
        }
        #expect(ListenAddress("127.0.0.1:8765")?.isLoopback == true)
        #expect(ListenAddress("[::1]:80")?.host == "::1")
        #expect(ListenAddress("[::1]:80")?.description == "[::1]:80")
        #expect(ListenAddress("0.0.0.0:80")?.isLoopback == false)
        for bad in ["127.0.0.1", ":80", "host:99999", "host:", "[zz]:80", "a b:1"] { #expect(ListenAddress(bad) == nil, "\(bad)") }
    }

    @Test func namesIdentifiersTextAndChoices() {
        #expect(StringFormat.name.check("github-2") == nil)
        #expect(StringFormat.name.check("GitHub") != nil)
        #expect(StringFormat.name.check("-x") != nil)
        #expect(StringFormat.name.check(String(repeating: "a", count: 49)) != nil)
        #expect(StringFormat.envName.check("http_proxy") == nil)
        #expect(StringFormat.variableName.check("http_proxy") != nil)
        #expect(StringFormat.variableName.check("9X") != nil)
        #expect(StringFormat.text(max: 3).check("")?.message == "must not be empty")
        #expect(StringFormat.text(max: 3).check("abcd")?.message == "is 4 characters long; at most 3 are allowed")
        #expect(StringFormat.oneOf(["stdio", "http"]).check("stdoi")?.hint == "did you mean \"stdio\"?")
        #expect(StringFormat.percent.check("0%") != nil)
        #expect(StringFormat.byteSize.check("1TB") != nil)
        #expect(StringFormat.budget.check("x") != nil)
        #expect(StringFormat.listenAddress.check("x") != nil)
        #expect(StringFormat.hostPattern.check("X") != nil)
    }

    @Test func suggestionsFindLikelyTypos() {
        #expect(Suggestion.closest(to: "rsp", among: ["rps", "burst"]) == "rps")
        #expect(Suggestion.closest(to: "enviroment", among: ["env", "environment"]) == "environment")
        #expect(Suggestion.closest(to: "zzz", among: ["rps", "burst"]) == nil)
    }
}

@Suite struct SHA256Tests {
    @Test func knownVectors() {
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex(String(repeating: "a", count: 1000)) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }
}
