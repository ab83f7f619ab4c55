/// Which protocol eras the demo serves (`--era`).
enum EraMode: String, Sendable, CaseIterable {
    /// Both: `server/discover` + per-request `_meta` (2026-07-28) and the `initialize` handshake.
    case dual
    /// Handshake era only: `server/discover` is an unknown method, enveloped requests are rejected.
    case legacy
    /// 2026-07-28 only: `initialize` and `ping` are rejected.
    case modern

    /// What `server/discover` advertises in `supportedVersions`.
    var advertisedVersions: [String] {
        switch self {
        case .modern: [ProtocolVersion.modern]
        case .dual, .legacy: [ProtocolVersion.modern] + ProtocolVersion.handshake
        }
    }

    var servesModern: Bool { self != .legacy }
    var servesLegacy: Bool { self != .modern }
}

/// Protocol version strings and the `_meta` keys that carry them.
enum ProtocolVersion {
    /// The one modern (stateless, per-request `_meta`) version the demo implements.
    static let modern = "2026-07-28"
    /// Handshake-era versions `initialize` echoes, newest first; anything else gets the first.
    static let handshake = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]

    static let versionKey = "io.modelcontextprotocol/protocolVersion"
    static let clientCapabilitiesKey = "io.modelcontextprotocol/clientCapabilities"
    static let serverInfoKey = "io.modelcontextprotocol/serverInfo"

    /// The -32022 error for a version the demo does not serve in the modern envelope.
    static func unsupported(requested: String, message: String = "Unsupported protocol version") -> RPCError {
        RPCError(
            code: RPCError.unsupportedProtocolVersion,
            message: message,
            data: .object([("supported", .array([.string(modern)])), ("requested", .string(requested))])
        )
    }
}
