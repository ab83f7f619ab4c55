import Testing

@testable import Gateway

@Suite struct AccessTests {
    @Test func acceptsAnyConfiguredTokenAndNothingElse() {
        let auth = BearerAuthenticator(list: " alpha , ,beta-2 ")
        #expect(auth.isEnabled)
        #expect(auth.accepts(authorization: "Bearer alpha"))
        #expect(auth.accepts(authorization: "bearer beta-2"))
        #expect(!auth.accepts(authorization: "Bearer alph"))
        #expect(!auth.accepts(authorization: "Bearer alphaa"))
        #expect(!auth.accepts(authorization: "Bearer "))
        #expect(!auth.accepts(authorization: "Basic alpha"))
        #expect(!auth.accepts(authorization: "alpha"))
        #expect(!auth.accepts(authorization: nil))
        #expect(!BearerAuthenticator(list: " , ").isEnabled)
        #expect(!BearerAuthenticator(list: "").accepts(authorization: "Bearer "))
    }

    @Test func comparesWholeInputs() {
        #expect(BearerAuthenticator.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        #expect(!BearerAuthenticator.constantTimeEqual(Array("abc".utf8), Array("abd".utf8)))
        #expect(!BearerAuthenticator.constantTimeEqual(Array("abc".utf8), Array("abcabc".utf8)))
        #expect(!BearerAuthenticator.constantTimeEqual([], Array("a".utf8)))
        // Lengths that differ by a multiple of 256 must not pass as equal.
        #expect(!BearerAuthenticator.constantTimeEqual([UInt8](repeating: 0, count: 256), []))
        #expect(BearerAuthenticator.constantTimeEqual([], []))
    }

    @Test func originsFromLoopbackAndTheAllowListPass() {
        let policy = OriginPolicy(allowed: ["https://App.Example.com/"])
        #expect(policy.allows(nil))
        let loopback = ["http://localhost", "http://localhost:5173", "https://127.0.0.1:8443", "http://[::1]:8765"]
        for origin in loopback + ["https://app.example.com"] {
            #expect(policy.allows(origin), "\(origin)")
        }
        for origin in [
            "http://evil.example", "http://localhost.evil.example", "http://127.0.0.1.nip.io", "http://localhost:80x", "null",
            "http://localhost:", "https://app.example.com:444",
        ] {
            #expect(!policy.allows(origin), "\(origin)")
        }
    }
}
