import Testing

@testable import Egress

@Suite struct EgressPolicyTests {
    @Test func exactNamesMatchWithoutCaseOrTrailingDot() {
        let policy = EgressPolicy(["API.example.com"])
        #expect(policy.checkName("api.example.com", port: 443) == nil)
        #expect(EgressRule.normalise("API.Example.COM.") == "api.example.com")
        #expect(policy.checkName(EgressRule.normalise("Api.Example.com.") ?? "", port: 80) == nil)
        #expect(policy.checkName("example.com", port: 443) != nil)
        #expect(policy.checkName("evil-api.example.com", port: 443) != nil)
        #expect(policy.checkName("api.example.com.evil.net", port: 443) != nil)
    }

    @Test func wildcardsMatchSubdomainsOnly() {
        let policy = EgressPolicy(["*.example.com"])
        #expect(policy.checkName("a.example.com", port: 443) == nil)
        #expect(policy.checkName("b.a.example.com", port: 80) == nil)
        #expect(policy.checkName("example.com", port: 443) != nil)
        #expect(policy.checkName("badexample.com", port: 443) != nil)
    }

    @Test func anEntryWithoutPortAllows80And443Only() {
        let policy = EgressPolicy(["api.example.com"])
        #expect(policy.checkName("api.example.com", port: 80) == nil)
        #expect(policy.checkName("api.example.com", port: 443) == nil)
        #expect(policy.checkName("api.example.com", port: 22) == "port 22 is not allowed for api.example.com")
    }

    @Test func anEntryWithPortAllowsThatPortOnly() {
        let policy = EgressPolicy(["api.example.com:8443", "*.internal.test:9000"])
        #expect(policy.checkName("api.example.com", port: 8443) == nil)
        #expect(policy.checkName("api.example.com", port: 443) == "port 443 is not allowed for api.example.com")
        #expect(policy.checkName("x.internal.test", port: 9000) == nil)
        #expect(policy.checkName("x.internal.test", port: 9001) != nil)
        #expect(policy.checkName("elsewhere.test", port: 9000) == "elsewhere.test is not in the egress list")
    }

    @Test func invalidEntriesAreSetAside() {
        let policy = EgressPolicy(["ok.test", "bad host", "x.test:0", "x.test:70000", "*.", "-a.test"])
        #expect(policy.rules.map(\.description) == ["ok.test"])
        #expect(policy.invalid.count == 5)
        #expect(EgressPolicy([]).checkName("a.test", port: 80) != nil)
    }

    @Test func internalAddressesNeedALiteralEntry() throws {
        let loopback = try #require(IPAddress("127.0.0.2"))
        let public1 = try #require(IPAddress("93.184.215.14"))
        let policy = EgressPolicy(["allowed.test:8080"])
        #expect(policy.check(addresses: [public1], port: 8080).allowed == [public1])
        let refused = policy.check(addresses: [loopback], port: 8080)
        #expect(refused.allowed.isEmpty)
        #expect(refused.reason == "resolves to 127.0.0.2, an internal address no egress entry names")
        let listed = EgressPolicy(["allowed.test:8080", "127.0.0.2:8080"])
        #expect(listed.check(addresses: [loopback], port: 8080).allowed == [loopback])
        // The literal entry's port counts too.
        #expect(listed.check(addresses: [loopback], port: 8081).allowed.isEmpty)
        let anyDefault = EgressPolicy(["10.0.0.5"])
        #expect(anyDefault.check(addresses: [try #require(IPAddress("10.0.0.5"))], port: 443).allowed.count == 1)
        #expect(anyDefault.check(addresses: [try #require(IPAddress("10.0.0.6"))], port: 443).allowed.isEmpty)
        // Mixed answers: only the allowed addresses are kept, in order.
        #expect(policy.check(addresses: [loopback, public1], port: 8080).allowed == [public1])
        #expect(policy.check(addresses: [], port: 80).reason == "the name does not resolve")
    }

    @Test func aLiteralAddressTargetMatchesALiteralEntry() {
        let policy = EgressPolicy(["127.0.0.3:9000"])
        #expect(policy.checkName("127.0.0.3", port: 9000) == nil)
        #expect(policy.checkName("127.0.0.4", port: 9000) != nil)
    }
}

@Suite struct IPAddressTests {
    @Test(arguments: [
        "127.0.0.1", "127.255.255.254", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
        "100.64.0.1", "100.127.255.255", "0.0.0.0", "0.1.2.3", "224.0.0.1", "239.255.255.255", "255.255.255.255", "240.0.0.1",
        "198.18.0.1",
    ])
    func internalIPv4(_ text: String) throws {
        #expect(try #require(IPAddress(text)).isInternal)
    }

    @Test(arguments: [
        "8.8.8.8", "1.1.1.1", "172.15.255.255", "172.32.0.1", "100.63.255.255", "100.128.0.1", "192.169.0.1", "93.184.215.14",
    ])
    func publicIPv4(_ text: String) throws {
        #expect(try !#require(IPAddress(text)).isInternal)
    }

    @Test(arguments: [
        "::1", "::", "fe80::1", "febf::1", "fc00::1", "fd12:3456::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:192.168.0.1",
        "::ffff:169.254.169.254", "ff02::1", "::127.0.0.1", "64:ff9b::a00:1", "2002:7f00:1::1", "[::1]",
    ])
    func internalIPv6(_ text: String) throws {
        #expect(try #require(IPAddress(text)).isInternal)
    }

    @Test(arguments: ["2001:4860:4860::8888", "::ffff:8.8.8.8", "2606:4700::1111", "64:ff9b::808:808", "2002:808:808::1"])
    func publicIPv6(_ text: String) throws {
        #expect(try !#require(IPAddress(text)).isInternal)
    }

    @Test func onlyCanonicalTextParses() {
        for text in ["127.1", "0x7f.0.0.1", "1.2.3.4.5", "", "localhost", "[127.0.0.1", "::g"] {
            #expect(IPAddress(text) == nil, "\(text)")
        }
        #expect(IPAddress("::ffff:127.0.0.1")?.description == "::ffff:127.0.0.1")
        #expect(IPAddress("127.0.0.1")?.isLoopback == true)
        #expect(IPAddress("::1")?.isLoopback == true)
        #expect(IPAddress("10.0.0.1")?.isLoopback == false)
    }
}

@Suite struct ProxyCredentialsTests {
    @Test func basicCredentialsParse() throws {
        let header = ProxyCredentials.header(user: "demo", password: "omxp_abc:def")
        let parsed = try ProxyCredentials.parse(header).get()
        #expect(parsed.user == "demo")
        #expect(parsed.password == "omxp_abc:def")
        #expect(try ProxyCredentials.parse("basic ZGVtbzp4").get().password == "x")
    }

    @Test func badHeadersAreRefusedPrecisely() {
        #expect(ProxyCredentials.parse(nil).failure == .missing)
        #expect(ProxyCredentials.parse("").failure == .missing)
        #expect(ProxyCredentials.parse("Bearer abc").failure == .notBasic)
        #expect(ProxyCredentials.parse("Basic").failure == .notBasic)
        #expect(ProxyCredentials.parse("Basic !!!notbase64").failure == .badEncoding)
        #expect(ProxyCredentials.parse("Basic " + "bm9jb2xvbg==").failure == .badEncoding)  // "nocolon"
        #expect(ProxyCredentials.parse("Basic " + String(repeating: "A", count: 2000)).failure == .badEncoding)
    }

    @Test func tokensAreFreshAndRecognisable() {
        let a = ProxyCredentials.token()
        let b = ProxyCredentials.token()
        #expect(a != b)
        #expect(a.hasPrefix("omxp_") && a.count == 37)
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
