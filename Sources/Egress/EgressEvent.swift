/// What the proxy reports: `Controller` turns each into a log line, and a denial also into an
/// audit record. Never carries credentials.
public enum EgressEvent: Sendable, Hashable {
    /// A connection the policy refused (403 to the child).
    case denied(server: String, instance: String, host: String, port: UInt16, reason: String)
    /// A request without valid credentials (407). `user` is the claimed server name, if any.
    case unauthenticated(user: String?, reason: String)
    /// A server is at its tunnel bound (429).
    case busy(server: String, host: String, port: UInt16, limit: Int)
    /// An allowed connection could not be made (502 or 504 to the child).
    case failed(server: String, host: String, port: UInt16, reason: String)
    /// A tunnel or forwarded request ended.
    case closed(server: String, host: String, port: UInt16, sent: Int, received: Int, seconds: Double, reason: String)
}
