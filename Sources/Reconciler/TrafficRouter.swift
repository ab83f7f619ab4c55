import Actual

/// The front door's routing, as the executor drives it (the gateway implements it; this module
/// knows nothing of the gateway). A replacement is four visible steps: the executor starts the
/// new process, the supervisor reports it ready, the executor calls `route(to:)` for it, and
/// only then stops the old one, which `drain` takes out of rotation before the stop begins.
///
/// Calls for one server come in the order the steps happen; implementations must not block.
public protocol TrafficRouter: Sendable {
    /// `id` is ready: new requests for its server go to it from now on (the instance that had
    /// them finishes what it has).
    func route(to id: InstanceID, channel: any ForwardingChannel, identity: ServerIdentity)
    /// `id` is about to be stopped: it takes no new requests. With `wait`, returns once the
    /// requests in flight there have ended (answered, timed out, cancelled) or after a bound of
    /// the implementation's (past it the stop goes on and they fail with the process); without,
    /// at once.
    func drain(_ id: InstanceID, reason: String, wait: Bool) async
    /// `id` has ended: nothing more goes to it.
    func retire(_ id: InstanceID, reason: String)
}
