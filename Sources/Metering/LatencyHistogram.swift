/// A cumulative histogram with fixed buckets in seconds, as Prometheus exposes it.
public struct LatencyHistogram: Sendable, Hashable {
    public static let buckets: [Double] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    /// `counts[i]` is the number of observations at most `buckets[i]` (cumulative).
    public private(set) var counts = [Int](repeating: 0, count: buckets.count)
    public private(set) var count = 0
    public private(set) var sum = 0.0

    public init() {}

    public mutating func observe(_ seconds: Double) {
        for (index, bound) in LatencyHistogram.buckets.enumerated() where seconds <= bound { counts[index] += 1 }
        count += 1
        sum += seconds
    }
}
