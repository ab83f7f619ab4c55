extension Duration {
    /// Milliseconds as a Double, for latency figures.
    public var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }

    /// Seconds as a Double, for rates.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }

    /// `250ms`, `2.5s`: for messages.
    var formattedMilliseconds: String {
        milliseconds < 1000 ? "\(Int(milliseconds.rounded()))ms" : "\((milliseconds / 100).rounded() / 10)s"
    }
}
