import Metering
import Testing

@Suite struct LatencyHistogramTests {
    @Test func countsAreCumulative() {
        var histogram = LatencyHistogram()
        histogram.observe(0.003)
        histogram.observe(2)
        #expect(histogram.count == 2)
        #expect(histogram.counts[0] == 0 && histogram.counts[1] == 1 && histogram.counts.last == 2)
    }
}
