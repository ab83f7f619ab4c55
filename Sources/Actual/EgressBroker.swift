/// The supervisor's view of the egress proxy. Every process it starts is registered with the
/// broker and gets proxy variables that carry that instance's own credentials, so the proxy knows
/// which server asks; an isolated instance's in-namespace listener is handed over once the
/// process has started.
///
/// Implemented by the `Egress` module and wired by `Controller`: `Actual` never imports it.
public protocol EgressBroker: Sendable {
    /// The proxy's TCP port: on 127.0.0.1 of the controller's network namespace, and the port an
    /// isolated instance's in-namespace listener is bound to.
    var port: UInt16 { get }
    /// Registers an instance about to start and returns the variables to add to its environment
    /// (`HTTPS_PROXY`, `HTTP_PROXY`, their lower-case forms, `NO_PROXY`, `no_proxy`,
    /// `NODE_USE_ENV_PROXY`); they win over the manifest's own.
    func admit(_ instance: InstanceID) -> [String: String]
    /// Serves the proxy on `listener`, a listening TCP socket inside `instance`'s network
    /// namespace. The broker owns the descriptor from now on and closes it at `release`.
    func adopt(listener: Int32, for instance: InstanceID)
    /// Forgets the instance (its process ended or never started): its credentials stop working,
    /// its tunnels and its adopted listener close. Idempotent.
    func release(_ instance: InstanceID)
}
