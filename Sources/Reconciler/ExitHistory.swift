/// One past exit of a server's process, as the restart policy sees it.
public struct PastExit: Sendable, Hashable {
    /// When it exited, on the controller's monotonic clock.
    public var at: Duration
    /// How long it had been continuously `ready` when it exited (zero if it never was).
    public var readyFor: Duration
    /// The exit code, when it exited (nil when killed by a signal or never started).
    public var code: Int32?
    /// Whether the controller asked it to stop (those never count against it).
    public var requested: Bool
    /// Why this spec can never start on this host (a start refused for `isolation: network`
    /// where namespaces are not permitted); nil for every ordinary exit.
    public var permanentReason: String?

    public init(at: Duration, readyFor: Duration, code: Int32?, requested: Bool = false, permanentReason: String? = nil) {
        self.at = at
        self.readyFor = readyFor
        self.code = code
        self.requested = requested
        self.permanentReason = permanentReason
    }
}
