import Metering
import Testing

@Suite struct TokenBucketTests {
    let t0 = Duration.seconds(100)

    @Test func aFullBucketGivesTheBurstThenSaysHowLongToWait() {
        var bucket = TokenBucket(rate: 4, burst: 3)
        #expect(bucket.rate == 4 && bucket.burst == 3)
        for _ in 0..<3 { #expect(bucket.take(at: t0) == .zero) }
        // Empty: one token takes 1/4 s at 4 a second.
        #expect(bucket.take(at: t0) == .milliseconds(250))
        #expect(bucket.take(at: t0) == .milliseconds(250))
    }

    @Test func tokensRefillWithElapsedTime() {
        var bucket = TokenBucket(rate: 4, burst: 1)
        #expect(bucket.take(at: t0) == .zero)
        // Half a token after 125 ms: the wait is what is still missing.
        #expect(bucket.take(at: t0 + .milliseconds(125)) == .milliseconds(125))
        // A refused take consumes nothing, so the other half arrives 125 ms later.
        #expect(bucket.take(at: t0 + .milliseconds(250)) == .zero)
        #expect(bucket.take(at: t0 + .milliseconds(250)) == .milliseconds(250))
        // Waiting exactly as long as it said is enough.
        #expect(bucket.take(at: t0 + .milliseconds(500)) == .zero)
    }

    @Test func aLongQuietSpellRefillsOnlyUpToTheBurst() {
        var bucket = TokenBucket(rate: 10, burst: 2)
        #expect(bucket.take(at: t0) == .zero)
        #expect(bucket.take(at: t0) == .zero)
        #expect(bucket.take(at: t0) != .zero)
        let later = t0 + .seconds(3600)
        #expect(bucket.take(at: later) == .zero)
        #expect(bucket.take(at: later) == .zero)
        #expect(bucket.take(at: later) == .milliseconds(100))
    }

    @Test func timeGoingBackwardsAddsNothing() {
        var bucket = TokenBucket(rate: 2, burst: 1)
        #expect(bucket.take(at: t0) == .zero)
        #expect(bucket.take(at: t0 - .seconds(10)) == .milliseconds(500))
    }

    @Test func waitsRoundUpToWholeMilliseconds() {
        var bucket = TokenBucket(rate: 3, burst: 1)
        #expect(bucket.take(at: t0) == .zero)
        // 1/3 s is 333.33… ms: waiting 333 ms would be too early.
        #expect(bucket.take(at: t0) == .milliseconds(334))
    }
}
