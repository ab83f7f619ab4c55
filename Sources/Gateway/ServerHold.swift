/// Why a runnable server has no process now, as the executor says, and whether requests may
/// wait for one.
public struct ServerHold: Sendable, Hashable {
    public var reason: String
    /// A process is coming (a restart in backoff, a replacement waiting for its turn): requests
    /// wait for it. False for a quarantine or a policy that does not restart: refused at once.
    public var restarts: Bool
    /// When the restart may begin, on the gateway's clock, if known: a request whose deadline
    /// comes first is refused at once instead of waiting in vain.
    public var startsAt: Duration?

    public init(reason: String, restarts: Bool, startsAt: Duration? = nil) {
        self.reason = reason
        self.restarts = restarts
        self.startsAt = startsAt
    }
}
