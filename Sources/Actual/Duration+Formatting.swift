import Metering

extension Duration {
    /// `250ms`, `2.5s`: for messages.
    public var formattedMilliseconds: String {
        milliseconds < 1000 ? "\(Int(milliseconds.rounded()))ms" : "\((milliseconds / 100).rounded() / 10)s"
    }
}
