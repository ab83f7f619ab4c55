/// The modern per-request envelope found in `params._meta`.
enum ModernEnvelope {
    /// Whether the request claims the modern era: `params._meta` carries a protocol version key.
    static func isPresent(in params: JSONValue?) -> Bool {
        params?["_meta"]?[ProtocolVersion.versionKey] != nil
    }

    /// Checks an enveloped request: the required keys present and well-typed (else -32602), and
    /// the version the one the demo serves (else -32022 naming it).
    static func validate(_ params: JSONValue?) throws(RPCError) {
        let meta = params?["_meta"]
        guard let version = meta?[ProtocolVersion.versionKey]?.stringValue else {
            throw .invalidParams("Invalid params: _meta[\"\(ProtocolVersion.versionKey)\"] must be a string")
        }
        guard let capabilities = meta?[ProtocolVersion.clientCapabilitiesKey], capabilities.isObject else {
            throw .invalidParams(
                "Invalid params: missing required _meta field \"\(ProtocolVersion.clientCapabilitiesKey)\" (an object)"
            )
        }
        guard version == ProtocolVersion.modern else { throw ProtocolVersion.unsupported(requested: version) }
    }
}
