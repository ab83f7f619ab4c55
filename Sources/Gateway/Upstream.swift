import Actual

/// A ready process as the gateway sends to it: which instance, who it said it is (its era
/// decides the translation), and the channel that carries requests. Equal when the instance is.
public struct Upstream: Sendable, Hashable {
    public let instance: InstanceID
    public let identity: ServerIdentity
    public let channel: any ForwardingChannel

    public init(instance: InstanceID, identity: ServerIdentity, channel: any ForwardingChannel) {
        self.instance = instance
        self.identity = identity
        self.channel = channel
    }

    public static func == (lhs: Upstream, rhs: Upstream) -> Bool { lhs.instance == rhs.instance }
    public func hash(into hasher: inout Hasher) { hasher.combine(instance) }
}
