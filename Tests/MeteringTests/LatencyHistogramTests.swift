import Metering
import Testing

@Suite struct LatencyHistogramTests {
    @Test func startsEmpty() {
        let histogram = LatencyHistogram()
        #expect(histogram.counts == [Int](repeating: 0, count: LatencyHistogram.buckets.count))
        #expect(histogram.count == 0)
        #expect(histogram.sum == 0)
    }

    @Test func bucketsAreSortedUpperBoundsInSeconds() {
        #expect(LatencyHistogram.buckets.first == 0.001)
        #expect(LatencyHistogram.buckets.last == 10)
        #expect(LatencyHistogram.buckets == LatencyHistogram.buckets.sorted())
    }

    @Test func countsAreCumulative() {
        var histogram = LatencyHistogram()
        histogram.observe(0.003)
        histogram.observe(2)
        #expect(histogram.count == 2)
        #expect(histogram.counts[0] == 0 && histogram.counts[1] == 1 && histogram.counts.last == 2)
    }

    /// Prometheus buckets are `le` (at most): a value equal to a bound counts in that bucket;
    /// one above every bound counts only in `count` and `sum` (the implicit +Inf bucket).
    @Test func boundsAreInclusiveAndTheOverflowIsOnlyInTheTotals() {
        var histogram = LatencyHistogram()
        for seconds in [0.001, 0.003, 0.3, 20] { histogram.observe(seconds) }
        #expect(histogram.counts == [1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3])
        #expect(histogram.count == 4)
        #expect(abs(histogram.sum - 20.304) < 1e-9)
        #expect(histogram.counts.allSatisfy { $0 <= histogram.count })
    }
}
